package password_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/password"
)

func ExampleHasher() {
	// One Hasher per process: at most GOMAXPROCS hashes at once, callers
	// wait up to 2s for a slot before getting ErrBusy.
	h := password.NewHasher(password.DefaultParams(), 0, 2*time.Second)
	ctx := context.Background()

	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))

	ok, needsRehash, err := h.Verify(ctx, encoded, "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok, needsRehash)

	ok, _, _ = h.Verify(ctx, encoded, "Tr0ub4dor&3")
	fmt.Println(ok)
	// Output:
	// true
	// true false
	// false
}
