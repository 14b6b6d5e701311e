package sellerguard_test

import (
	"testing"

	"github.com/sellerguard/sellerguard"
)

// "User manager" is decided once: the owner, or an active member with edit
// on user permissions. Suspended members manage nobody.
func TestManagesUsers(t *testing.T) {
	edit := sellerguard.Permissions{sellerguard.AreaUserPermissions: sellerguard.LevelEdit}
	view := sellerguard.Permissions{sellerguard.AreaUserPermissions: sellerguard.LevelView, sellerguard.AreaPayments: sellerguard.LevelEdit}
	for _, c := range []struct {
		name string
		m    sellerguard.Membership
		want bool
	}{
		{"owner", sellerguard.Membership{Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive}, true},
		{"member with user permissions edit", sellerguard.Membership{Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive, Permissions: edit}, true},
		{"suspended member with edit", sellerguard.Membership{Role: sellerguard.RoleMember, Status: sellerguard.MembershipSuspended, Permissions: edit}, false},
		{"member who views user permissions", sellerguard.Membership{Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive, Permissions: view}, false},
		{"member with nothing", sellerguard.Membership{Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive}, false},
	} {
		if got := c.m.ManagesUsers(); got != c.want {
			t.Errorf("%s: ManagesUsers() = %v, want %v", c.name, got, c.want)
		}
	}
}
