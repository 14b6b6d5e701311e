package phishing_test

import (
	"context"
	"fmt"

	"github.com/sellerguard/sellerguard/internal/phishing"
)

func ExampleClaimsBrand() {
	cfg := phishing.Config{BrandDomains: []string{"sellerguard.example"}, BrandNames: []string{"SellerGuard"}}
	for _, from := range []string{
		"SellerGuard <no-reply@sellerguard.example>",
		"SellerGuard <security@se11erguard.example>",
		"Alice <alice@shop.example>",
	} {
		claims, reasons := phishing.ClaimsBrand(from, cfg)
		var codes []string
		for _, r := range reasons {
			codes = append(codes, r.Code)
		}
		fmt.Println(claims, codes)
	}
	// Output:
	// true [from_brand_domain]
	// true [sender_lookalike_confusable display_name_brand]
	// false []
}

func ExampleAnalyzeLink() {
	cfg := phishing.Config{BrandDomains: []string{"sellerguard.example"}, BrandNames: []string{"SellerGuard"}}
	a, err := phishing.AnalyzeLink(context.Background(), "https://s\u0435llerguard.example/login", "They asked me to confirm my password here.", cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Verdict)
	for _, r := range a.Reasons {
		fmt.Println(r.Code)
	}
	// Output:
	// phishing
	// link_lookalike_confusable
	// link_mixed_script
	// asks_password
	// link_punycode
}
