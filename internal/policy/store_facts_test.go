package policy

import (
	"context"
	"slices"
	"testing"
)

// A store's public details and every phone number on the account are public
// facts, like the owner's own email and phone.
func TestStoreDetailsAndEveryPhoneArePublicFacts(t *testing.T) {
	p := newTestPolicy(t, Options{}, nil)
	c := Context{
		Email:          "owner@example.com",
		Phone:          "+1 415 555 0123",
		Phones:         []string{"+44 20 7946 0958", "+1 (212) 555-0199"},
		StoreNames:     []string{"Quokka Outfitters"},
		StoreEmails:    []string{"help@kestrelgoods.example"},
		StoreAddresses: []string{"88 Wandsworth Street, Portree IV51 9DH"},
	}
	for _, tc := range []struct {
		pw   string
		want string // a code that must be among the reasons; "" for accepted
	}{
		{"Quokka-Lattice-4155550123", CodeContainsPhone}, // the guidance's own example
		{"violet-otter-0123-lantern", CodeContainsPhone},
		{"violet-otter-7946-lantern", CodeContainsPhone},
		{"violet-otter-0199-lantern", CodeContainsPhone},
		{"violet-kestrelgoods-lantern", CodeContainsStoreDetails},
		{"violet-wandsworth-lantern", CodeContainsStoreDetails},
		{"violet-portree-lantern-99", CodeContainsStoreDetails},
		{"violet-otter-quokka-lantern", CodeContainsBusiness},
		{"street-violet-otter-lantern", ""}, // a generic address word is no fact
		{"violet-otter-under-lantern", ""},
	} {
		got := codes(p.Check(context.Background(), tc.pw, c))
		if tc.want == "" {
			if len(got) != 0 {
				t.Errorf("%q: refused %v, want accepted", tc.pw, got)
			}
			continue
		}
		if !slices.Contains(got, tc.want) {
			t.Errorf("%q: reasons %v, want %s among them", tc.pw, got, tc.want)
		}
		if p.Score(tc.pw, c) != 0 {
			t.Errorf("%q: the meter scores a password with a public fact above 0", tc.pw)
		}
	}
}
