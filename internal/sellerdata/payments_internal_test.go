package sellerdata

import (
	"testing"
)

func TestCardChecks(t *testing.T) {
	for _, c := range []struct {
		number, brand string
		valid         bool
	}{
		{"4242424242424242", "Visa", true},
		{"4242424242424241", "Visa", false},
		{"5555555555554444", "Mastercard", true},
		{"2223003122003222", "Mastercard", true},
		{"378282246310005", "American Express", true},
		{"6011111111111117", "Discover", true},
		{"3530111333300000", "Card", true},
		{"0000000000000000", "Card", true}, // passes Luhn; refused by nobody here, as a bank would
	} {
		if got := luhnValid(c.number); got != c.valid {
			t.Errorf("luhn(%s) = %v", c.number, got)
		}
		if got := cardBrand(c.number); got != c.brand {
			t.Errorf("brand(%s) = %s, want %s", c.number, got, c.brand)
		}
	}
}
