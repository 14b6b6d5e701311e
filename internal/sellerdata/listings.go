package sellerdata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Listing limits.
const (
	MaxBulkListings   = 500
	BulkNoticeAtLeast = 20 // a change of this many listings at once tells the owner
)

// ListingInput is a listing as a seller sends it.
type ListingInput struct {
	ID            string // "" creates a listing
	SKU           string
	Title         string
	PriceCents    int64
	Quantity      int64
	Condition     string
	ConditionNote string
}

var listingConditions = map[string]bool{"new": true, "like_new": true, "very_good": true, "good": true, "acceptable": true, "refurbished": true}

func validateListing(prefix string, in ListingInput) (ListingInput, []sellerguard.FieldError) {
	var fields []sellerguard.FieldError
	bad := func(field, code, msg string) {
		fields = append(fields, sellerguard.FieldError{Field: prefix + field, Code: code, Message: msg})
	}
	in.SKU, in.Title, in.ConditionNote = cleanText(in.SKU), cleanText(in.Title), cleanText(in.ConditionNote)
	if in.SKU == "" || utf8.RuneCountInString(in.SKU) > 64 {
		bad("sku", "invalid", "Enter a SKU of at most 64 characters.")
	}
	if in.Title == "" || utf8.RuneCountInString(in.Title) > 200 {
		bad("title", "invalid", "Enter a title of at most 200 characters.")
	}
	if in.PriceCents < 0 || in.PriceCents > 100_000_000_00 {
		bad("price_cents", "out_of_range", "Use a price from 0 to 100,000,000.00.")
	}
	if in.Quantity < 0 || in.Quantity > 1_000_000 {
		bad("quantity", "out_of_range", "Use a quantity from 0 to 1,000,000.")
	}
	if !listingConditions[in.Condition] {
		bad("condition", "invalid", "Use new, like_new, very_good, good, acceptable or refurbished.")
	}
	if utf8.RuneCountInString(in.ConditionNote) > 1000 {
		bad("condition_note", "too_long", "Use at most 1000 characters.")
	}
	return in, fields
}

func listingState(l store.Listing) map[string]any {
	if l.ID == "" {
		return nil
	}
	return map[string]any{"sku": l.SKU, "title": l.Title, "price_cents": l.PriceCents, "quantity": l.Quantity, "condition": l.Condition, "condition_note": l.ConditionNote}
}

// ListListings lists a business's listings (listings: view).
func (s *Service) ListListings(ctx context.Context, p *Principal, businessID string) ([]store.Listing, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaListings, sellerguard.LevelView); err != nil {
		return nil, err
	}
	return s.DB.ListListings(ctx, businessID, 1000)
}

// SaveListings creates or changes listings (listings: edit), all or none:
// every listing is audited with before and after, a bulk change is recorded
// as one more event, and a large one tells the owner and user managers.
func (s *Service) SaveListings(ctx context.Context, p *Principal, businessID string, ins []ListingInput, meta RequestMeta) ([]store.Listing, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaListings, sellerguard.LevelEdit); err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > MaxBulkListings {
		return nil, sellerguard.Invalid(sellerguard.FieldError{Field: "listings", Code: "out_of_range", Message: fmt.Sprintf("Send 1 to %d listings.", MaxBulkListings)})
	}
	var fields []sellerguard.FieldError
	for i := range ins {
		var fe []sellerguard.FieldError
		ins[i], fe = validateListing(fmt.Sprintf("listings[%d].", i), ins[i])
		fields = append(fields, fe...)
	}
	if len(fields) > 0 {
		return nil, sellerguard.Invalid(fields...)
	}
	now := s.now()
	out := make([]store.Listing, 0, len(ins))
	var lines []ListingLine
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		for i, in := range ins {
			var before store.Listing
			if in.ID != "" {
				b, err := tx.FindListing(ctx, businessID, in.ID)
				if errors.Is(err, store.ErrNotFound) {
					return &sellerguard.Error{Code: sellerguard.ECodeNotFound, Message: "There is no such listing.",
						Fields: []sellerguard.FieldError{{Field: fmt.Sprintf("listings[%d].id", i), Code: "not_found", Message: "There is no such listing."}}}
				}
				if err != nil {
					return err
				}
				before = b
			}
			l := store.Listing{ID: in.ID, BusinessID: businessID, SKU: in.SKU, Title: in.Title, PriceCents: in.PriceCents, Quantity: in.Quantity,
				Condition: in.Condition, ConditionNote: in.ConditionNote, UpdatedAt: now}
			if l.ID == "" {
				l.ID = NewID("lst")
			}
			if err := tx.PutListing(ctx, l); errors.Is(err, store.ErrConflict) {
				return sellerguard.Invalid(sellerguard.FieldError{Field: fmt.Sprintf("listings[%d].sku", i), Code: "taken", Message: "Another listing has this SKU."})
			} else if err != nil {
				return err
			}
			action := "business.listing_changed"
			if before.ID == "" {
				action = "business.listing_created"
			}
			if err := s.teamEvent(ctx, tx, now, p, meta, businessID, action, "listing", l.ID, listingState(before), listingState(l)); err != nil {
				return err
			}
			out = append(out, l)
			lines = append(lines, listingLine(p.User.Email, before, l, now))
		}
		if len(ins) > 1 {
			if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.listings_bulk_changed", "listings", "", nil, map[string]any{"count": len(ins)}); err != nil {
				return err
			}
		}
		if len(ins) < BulkNoticeAtLeast && s.ListingsChanged != nil {
			return s.ListingsChanged(ctx, tx, now, businessID, lines)
		}
		if len(ins) >= BulkNoticeAtLeast {
			return s.tellBusiness(ctx, tx, now, businessID, EventListingsBulk, "email.listings_bulk", "Actor", p.User.Email, "N", len(ins), "When", now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListingLine is one listing change for the grouped notice, written in
// each reader's language (In).
type ListingLine struct {
	At         time.Time
	Who        string
	SKU, Title string
	Created    bool
	Fields     []string // what changed: title, price, quantity, condition, condition_note, sku
}

// listingLine describes one listing change for the grouped notice.
func listingLine(who string, before, after store.Listing, now time.Time) ListingLine {
	l := ListingLine{At: now, Who: who, SKU: after.SKU, Title: after.Title, Created: before.ID == ""}
	if before.ID != "" {
		for _, f := range []struct {
			name string
			same bool
		}{{"title", before.Title == after.Title}, {"price", before.PriceCents == after.PriceCents}, {"quantity", before.Quantity == after.Quantity},
			{"condition", before.Condition == after.Condition}, {"condition_note", before.ConditionNote == after.ConditionNote}, {"sku", before.SKU == after.SKU}} {
			if !f.same {
				l.Fields = append(l.Fields, f.name)
			}
		}
	}
	return l
}

// In writes the line in language lang ("15:04:05 UTC: who changed (price)
// listing SKU (title)").
func (l ListingLine) In(lang string) string {
	lg := i18n.OrDefault(lang)
	c := i18n.Default()
	what := c.T(lg, "email.listing_line.created")
	if !l.Created {
		fields := make([]string, len(l.Fields))
		for i, f := range l.Fields {
			fields[i] = c.T(lg, "email.listing_line.field."+f)
		}
		what = c.T(lg, "email.listing_line.changed", "Fields", strings.Join(fields, c.T(lg, "email.listing_line.comma")))
		if len(fields) == 0 {
			what = c.T(lg, "email.listing_line.unchanged")
		}
	}
	return c.T(lg, "email.listing_line", "At", l.At.UTC().Format("15:04:05"), "Who", l.Who, "What", what, "SKU", l.SKU, "Title", l.Title)
}
