package policy_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sellerguard/sellerguard/internal/policy"
)

func ExamplePolicy_Check() {
	common, err := policy.DefaultCommonList()
	if err != nil {
		panic(err)
	}
	p := policy.New(policy.Options{MinScore: policy.DefaultMinScore, PlatformWords: []string{"sellerguard"}}, common, nil)
	who := policy.Context{Email: "marta@blueheron.example", BusinessNames: []string{"Blue Heron Crafts"}, Phone: "+44 7700 900123"}
	for _, pw := range []string{"Password2024!", "BlueHeronCrafts2024", "kite-7700900123-harbour", "violet-otter-lantern-42"} {
		rs := p.Check(context.Background(), pw, who)
		if rs == nil {
			fmt.Println("ok")
			continue
		}
		var codes []string
		for _, r := range rs {
			codes = append(codes, r.Code)
		}
		fmt.Println(strings.Join(codes, " "))
	}
	// Output:
	// common too_weak
	// contains_email contains_business
	// contains_phone
	// ok
}
