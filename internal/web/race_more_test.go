package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// More requests sent several times at once, or conflicting requests at the
// same moment, found by the same outside probe (race_seller_test.go says
// why PostgreSQL, at READ COMMITTED, showed them where SQLite did not):
// enrolments confirmed eight times answered 500, eight wrong phone codes
// at once counted as one try, eight regenerations left eight sets of
// backup codes working, eight phones at once went past the five allowed,
// undos went through twice or over a later change, and the two-step rule
// of a business was lifted while a member joined.

// raceState decodes an audit event's before or after JSON.
func raceState(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if s == "" {
		return m
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("audit state %q: %v", s, err)
	}
	return m
}

// raceChain lists the events of the business's audit chain in sequence
// order.
func raceChain(t *testing.T, in *apptest.Instance, biz string) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	if err := in.DB.EachAuditEventOfChain(context.Background(), "b:"+biz, func(e store.AuditRecord) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// raceLastEvent is the id of the business's newest event with the action.
func raceLastEvent(t *testing.T, in *apptest.Instance, biz, action, targetID string) string {
	t.Helper()
	id := ""
	for _, e := range raceChain(t, in, biz) {
		if e.Action == action && (targetID == "" || e.TargetID == targetID) {
			id = e.ID
		}
	}
	if id == "" {
		t.Fatalf("no %s event in the business's log", action)
	}
	return id
}

// raceSMSCode is the code of the newest text message sent to the number
// (E.164, as the local outbox keeps it).
func raceSMSCode(t *testing.T, in *apptest.Instance, e164 string) string {
	t.Helper()
	for _, m := range in.Outbox(t) { // newest first
		if m.Channel == "sms" && m.To == e164 {
			if c := smsCodeRE.FindStringSubmatch(m.Body); c != nil {
				return c[1]
			}
		}
	}
	t.Fatalf("no text message with a code to %s in the outbox", e164)
	return ""
}

// raceStartPhone starts enrolling the phone (E.164) and returns the method
// id and the code texted to it.
func raceStartPhone(t *testing.T, in *apptest.Instance, token, e164 string) (string, string) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]string{"phone": e164})
	if r.Status != http.StatusCreated {
		t.Fatalf("add phone %s: %d %s", e164, r.Status, r.Body)
	}
	return r.JSON(t)["method_id"].(string), raceSMSCode(t, in, e164)
}

// raceOtherCodes are n six-digit codes, none of them code.
func raceOtherCodes(code string, n int) []string {
	c, _ := strconv.Atoi(code)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%06d", (c+1+i*7919)%1000000)
	}
	return out
}

// raceConfirmPhone sends one code to the phone enrolment's confirm route.
func raceConfirmPhone(t *testing.T, in *apptest.Instance, token, methodID, code string) (int, string) {
	return rawRequest(t, in, "POST", "/api/v1/two-step/sms/"+methodID+"/confirm", "application/json", raceJSON(t, map[string]string{"code": code}), token, nil)
}

// raceIsConfirmed says whether the user's method is confirmed in the store.
func raceIsConfirmed(t *testing.T, in *apptest.Instance, userID, methodID string) bool {
	t.Helper()
	return slices.Contains(raceConfirmedMethods(t, in, userID), methodID)
}

// An authenticator app confirmed eight times at once with its one code
// (a double click): the seller sees it added once (one 200), the other
// answers say there is no such enrolment left to confirm (404), never a
// 500 — on PostgreSQL the others used to fail confirming a method already
// confirmed ("store: not found"). The app is confirmed, and the account's
// history shows one two_step.method_added. Three rounds, a new app each.
func TestRaceMoreConfirmAuthenticatorEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "app@confirm8.example", "Confirm Goods")
		for round := range 3 {
			what := fmt.Sprintf("confirm app round %d", round)
			r := in.Do(t, "POST", "/api/v1/two-step/totp", owner.token, nil)
			if r.Status != http.StatusCreated {
				t.Fatalf("%s: start: %d %s", what, r.Status, r.Body)
			}
			secret, id := r.JSON(t)["secret"].(string), r.JSON(t)["method_id"].(string)
			code, err := twostep.TOTPCode(secret, twostep.Step(in.Clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			before := raceAudit(t, in, "two_step.method_added")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/two-step/totp/"+id+"/confirm", "application/json", raceJSON(t, map[string]string{"code": code}), owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusOK, http.StatusNotFound)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "two_step.method_added", before)
			if !raceIsConfirmed(t, in, owner.id, id) {
				t.Fatalf("%s: the app is not confirmed after the burst (answers %v)", what, statuses)
			}
		}
	})
}

// A phone confirmed eight times at once with the code texted to it: one
// 200 (the phone is added), the others refused (4xx: nothing left to
// confirm), never a 500 — on PostgreSQL they used to fail confirming a
// phone already confirmed. The phone is confirmed and one
// two_step.method_added is recorded. Three rounds, a new phone each.
func TestRaceMoreConfirmPhoneEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "phone@confirm8.example", "Phone Goods")
		for round := range 3 {
			what := fmt.Sprintf("confirm phone round %d", round)
			id, code := raceStartPhone(t, in, owner.token, fmt.Sprintf("+44740020000%d", round))
			before := raceAudit(t, in, "two_step.method_added")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return raceConfirmPhone(t, in, owner.token, id, code)
			})
			raceOKOr4xx(t, what, statuses, bodies, http.StatusOK)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "two_step.method_added", before)
			if !raceIsConfirmed(t, in, owner.id, id) {
				t.Fatalf("%s: the phone is not confirmed after the burst (answers %v)", what, statuses)
			}
		}
	})
}

// A texted code takes five tries. One at a time: after four wrong codes
// the right one still adds the phone; after five it no longer does (400).
// Eight different wrong codes sent at once must count as eight tries, so
// the right code sent afterwards is refused too (400) and the phone stays
// unconfirmed — on PostgreSQL the eight tries counted as one, and the right
// code still worked: a guesser got many more than five tries. Three rounds,
// a new phone each.
func TestRaceMorePhoneCodeTriesAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		owner, _ := newOwner(t, in, "guess@tries.example", "Tries Goods")
		remove := func(id string) {
			t.Helper()
			if r := in.Do(t, "DELETE", "/api/v1/two-step/"+id, owner.token, nil); r.Status != http.StatusNoContent {
				t.Fatalf("remove phone %s: %d %s", id, r.Status, r.Body)
			}
		}
		// The rule, one try at a time.
		for _, wrongTries := range []int{4, 5} {
			what := fmt.Sprintf("%d wrong codes one at a time", wrongTries)
			id, code := raceStartPhone(t, in, owner.token, fmt.Sprintf("+4474003000%02d", wrongTries))
			for i, wrong := range raceOtherCodes(code, wrongTries) {
				if s, b := raceConfirmPhone(t, in, owner.token, id, wrong); s != http.StatusBadRequest {
					t.Fatalf("%s: wrong code %d: %d %s", what, i, s, b)
				}
			}
			s, b := raceConfirmPhone(t, in, owner.token, id, code)
			switch {
			case wrongTries < 5 && s != http.StatusOK:
				t.Fatalf("%s: the right code: %d %s, want 200", what, s, b)
			case wrongTries >= 5 && s != http.StatusBadRequest:
				t.Fatalf("%s: the right code: %d %s, want 400 (the five tries are used up)", what, s, b)
			}
			remove(id)
		}
		// Eight wrong codes at once.
		for round := range 3 {
			what := fmt.Sprintf("8 wrong codes at once, round %d", round)
			id, code := raceStartPhone(t, in, owner.token, fmt.Sprintf("+4474003001%02d", round))
			wrong := raceOtherCodes(code, raceN)
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				return raceConfirmPhone(t, in, owner.token, id, wrong[i])
			})
			raceOnly(t, what, statuses, bodies, http.StatusBadRequest)
			attempts := "none (challenge gone)"
			if c, err := in.DB.FindChallenge(ctx, "smsenroll:"+id, in.Clock.Now()); err == nil {
				attempts = fmt.Sprint(c.Attempts)
			}
			if s, b := raceConfirmPhone(t, in, owner.token, id, code); s != http.StatusBadRequest {
				t.Errorf("%s: the right code afterwards: %d %.200s, want 400 (tries counted by the store: %s)", what, s, b, attempts)
			}
			if raceIsConfirmed(t, in, owner.id, id) {
				t.Errorf("%s: the phone was confirmed after eight wrong tries (tries counted by the store: %s)", what, attempts)
			}
			remove(id)
		}
	})
}

// Eight phones added at once (eight numbers): a seller has at most five
// phones (enrolling ones included), so five are started (201) and three
// refused (409), never a 500, and the store holds five phones — on
// PostgreSQL all eight went in. Two rounds, a new seller each (the hourly
// caps on texts stay far away).
func TestRaceMoreAddEightPhonesAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		for round := range 2 {
			what := fmt.Sprintf("8 phones round %d", round)
			owner, _ := newOwner(t, in, fmt.Sprintf("phones%d@eight.example", round), "Phones Goods")
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/two-step/sms", "application/json",
					raceJSON(t, map[string]string{"phone": fmt.Sprintf("+4474004%d00%02d", round, i)}), owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusCreated, http.StatusConflict)
			ms, err := in.DB.ListMethods(ctx, owner.id)
			if err != nil {
				t.Fatal(err)
			}
			phones := 0
			for _, m := range ms {
				if m.Kind == twostep.KindSMS || m.Kind == twostep.KindVoice {
					phones++
				}
			}
			if phones > 5 {
				t.Errorf("%s: %d phones stored, at most 5 allowed (answers %v)", what, phones, statuses)
			}
			if n := raceCount(statuses, http.StatusCreated); n != 5 || phones != 5 {
				t.Errorf("%s: %d phones started (201) and %d stored, want 5 and 5 (answers %v)", what, n, phones, statuses)
			}
		}
	})
}

// errRaceProbe rolls back the transaction that checks backup codes.
var errRaceProbe = errors.New("probe only: roll back")

// raceValidBackupCodes counts, for each set, its codes the store would
// accept now (each tried in one transaction that is rolled back).
func raceValidBackupCodes(t *testing.T, in *apptest.Instance, userID string, sets [][]string) []int {
	t.Helper()
	ctx := context.Background()
	var valid []int
	err := in.DB.WithTx(ctx, func(tx *store.Tx) error {
		valid = make([]int, len(sets))
		for i, set := range sets {
			for _, c := range set {
				mac := in.Session.Keys.MAC("backup-code", userID, twostep.NormalizeBackupCode(c))
				switch err := tx.UseBackupCode(ctx, userID, mac, in.Clock.Now()); {
				case err == nil:
					valid[i]++
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
			}
		}
		return errRaceProbe
	})
	if !errors.Is(err, errRaceProbe) {
		t.Fatal(err)
	}
	return valid
}

// New backup codes made eight times at once (a double click): each answer
// is a set of ten (201), and since each set replaces the one before, only
// one of the sets the seller was shown works afterwards: exactly ten
// unused codes, all of one returned set, none of the seven others (and
// that set's first code re-authenticates). On PostgreSQL all eight sets
// stayed valid: eighty unused codes, seven of them in sets the seller
// believed replaced. Three rounds.
func TestRaceMoreBackupCodesEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		owner, _ := newOwner(t, in, "codes@regen8.example", "Codes Goods")
		for round := range 3 {
			what := fmt.Sprintf("regenerate round %d", round)
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/two-step/backup-codes", "", nil, owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusCreated)
			var sets [][]string
			for i, b := range bodies {
				if statuses[i] != http.StatusCreated {
					continue
				}
				var ans struct{ Codes []string }
				if err := json.Unmarshal([]byte(b), &ans); err != nil || len(ans.Codes) != 10 {
					t.Fatalf("%s: answer %d: %v %.200s", what, i, err, b)
				}
				sets = append(sets, ans.Codes)
			}
			if len(sets) == 0 {
				t.Fatalf("%s: no set of codes (answers %v)", what, statuses)
			}
			left, err := in.DB.CountBackupCodesLeft(ctx, owner.id)
			if err != nil {
				t.Fatal(err)
			}
			valid := raceValidBackupCodes(t, in, owner.id, sets)
			won, partial := -1, 0
			for i, n := range valid {
				switch {
				case n == 10 && won < 0:
					won = i
				case n > 0:
					partial++
				}
			}
			if left != 10 || won < 0 || partial > 0 {
				t.Fatalf("%s: %d unused codes stored, want 10; valid codes per returned set: %v, want ten in one set and none in the others", what, left, valid)
			}
			r := in.Do(t, "POST", "/api/v1/session/reauth", owner.token, map[string]string{"password": pw, "method": "backup_codes", "code": sets[won][0]})
			if r.Status != http.StatusOK {
				t.Fatalf("%s: re-authentication with the valid set's first code: %d %s", what, r.Status, r.Body)
			}
			owner.token = r.JSON(t)["token"].(string)
		}
	})
}

// The owner undoes a member's joining (with confirm) and the click goes
// out eight times: one undo (200), the others find the person no longer a
// member (409), never a 500 — on PostgreSQL they used to fail removing a
// membership already removed. The person is no longer a member and one
// business.change_undone event names them. Three rounds, a new member each.
func TestRaceMoreUndoMemberJoinedEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@undojoin.example", "Undo Join Goods")
		undone := func(userID string) int {
			n := 0
			for _, e := range raceChain(t, in, biz) {
				if e.Action == "business.change_undone" && e.TargetType == "user" && e.TargetID == userID {
					n++
				}
			}
			return n
		}
		for round := range 3 {
			what := fmt.Sprintf("undo joining round %d", round)
			p := joinByInvitation(t, in, owner.token, biz, fmt.Sprintf("joiner%d@undojoin.example", round), map[string]string{"listings": "view"})
			joined := raceLastEvent(t, in, biz, "business.member_joined", p.id)
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/businesses/"+biz+"/changes/"+joined+"/undo", "application/json", raceJSON(t, map[string]bool{"confirm": true}), owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusOK, http.StatusConflict)
			if n := raceCount(statuses, http.StatusOK); n != 1 {
				t.Errorf("%s: %d undos answered 200 (all: %v), want 1", what, n, statuses)
			}
			if n := undone(p.id); n != 1 {
				t.Errorf("%s: %d business.change_undone events for the member, want 1", what, n)
			}
			if member, _ := raceIsMember(t, in, biz, p.id); member {
				t.Fatalf("%s: the person is still a member after the undo", what)
			}
		}
		checkAuditChain(t, in)
	})
}

// raceStorefrontHistory replays the storefront events of the business's
// log in sequence order (each change's and each undo's after state) and
// returns the display name the last one left, with every undo that went
// over a later change: an undo without confirm must be refused
// (change_superseded) when anything touched the storefront after the
// change it undoes — here no undo is confirmed.
func raceStorefrontHistory(t *testing.T, in *apptest.Instance, biz string) (string, []string) {
	t.Helper()
	name, last := "", ""
	var overwrote []string
	for _, e := range raceChain(t, in, biz) {
		storefront := e.Action == "business.storefront_changed" || e.Action == "business.change_undone" && e.TargetType == "storefront"
		if !storefront {
			continue
		}
		after := raceState(t, e.After)
		if e.Action == "business.change_undone" {
			if undoes, _ := after["undoes"].(string); undoes != last {
				overwrote = append(overwrote, fmt.Sprintf("undo %s (seq %d) of %s came after %s", e.ID, e.Seq, undoes, last))
			}
		}
		name, _ = after["display_name"].(string)
		last = e.ID
	}
	return name, overwrote
}

// raceStorefrontName is the display name GET storefront shows.
func raceStorefrontName(t *testing.T, in *apptest.Instance, token, biz string) string {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/storefront", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("storefront: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["storefront"].(map[string]any)["display_name"].(string)
}

// racePutStorefront sets the storefront's display name.
func racePutStorefront(t *testing.T, in *apptest.Instance, token, biz, name string) {
	t.Helper()
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/storefront", token, map[string]string{"display_name": name}); r.Status != http.StatusOK {
		t.Fatalf("storefront %q: %d %s", name, r.Status, r.Body)
	}
}

// A storefront change undone eight times at once without confirm: one
// undo (200), the others refused (409: the first undo is a later change of
// the storefront), never a 500; one business.change_undone event, the
// name is back to the one before the change, and the log replayed in
// order ends on the name the storefront shows with no undo over a later
// change. On PostgreSQL all eight undid it (eight events). Three rounds.
func TestRaceMoreUndoStorefrontEightTimes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@undofront.example", "Undo Front Goods")
		for round := range 3 {
			what := fmt.Sprintf("undo storefront round %d", round)
			racePutStorefront(t, in, owner.token, biz, fmt.Sprintf("Shop %d A", round))
			racePutStorefront(t, in, owner.token, biz, fmt.Sprintf("Shop %d C", round))
			change := raceLastEvent(t, in, biz, "business.storefront_changed", "")
			before := raceAudit(t, in, "business.change_undone")
			statuses, bodies := raceBurst(raceN, func(int) (int, string) {
				return rawRequest(t, in, "POST", "/api/v1/businesses/"+biz+"/changes/"+change+"/undo", "application/json", []byte(`{}`), owner.token, nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusOK, http.StatusConflict)
			raceOneEffect(t, in, what, statuses, http.StatusOK, "business.change_undone", before)
			shown := raceStorefrontName(t, in, owner.token, biz)
			if want := fmt.Sprintf("Shop %d A", round); shown != want {
				t.Errorf("%s: the storefront shows %q, want %q", what, shown, want)
			}
			replayed, overwrote := raceStorefrontHistory(t, in, biz)
			if replayed != shown || len(overwrote) > 0 {
				t.Fatalf("%s: the log replayed ends on %q, the storefront shows %q; undos over a later change: %v", what, replayed, shown, overwrote)
			}
		}
		checkAuditChain(t, in)
	})
}

// Undos of a storefront change (four, without confirm) sent at the same
// moment as four new names: every new name is saved (200), an undo either
// goes first (200, at most one) or is refused (409), never a 500. Then
// the storefront's log, replayed in order, ends on the name GET shows, and
// no undo comes after a later change of the storefront — no undo
// overwrote a newer name without the seller confirming. On PostgreSQL the
// undos answered 200 over the new names. Five rounds.
func TestRaceMoreUndoBesideStorefrontChanges(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@undobeside.example", "Undo Beside Goods")
		for round := range 5 {
			what := fmt.Sprintf("undo beside changes round %d", round)
			racePutStorefront(t, in, owner.token, biz, fmt.Sprintf("Shop %d D", round))
			change := raceLastEvent(t, in, biz, "business.storefront_changed", "")
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				if i%2 == 1 {
					return rawRequest(t, in, "PUT", "/api/v1/businesses/"+biz+"/storefront", "application/json",
						raceJSON(t, map[string]string{"display_name": fmt.Sprintf("Shop %d E%d", round, i)}), owner.token, nil)
				}
				return rawRequest(t, in, "POST", "/api/v1/businesses/"+biz+"/changes/"+change+"/undo", "application/json", []byte(`{}`), owner.token, nil)
			})
			raceNo5xx(t, what, statuses, bodies)
			undos := 0
			for i, s := range statuses {
				switch {
				case i%2 == 1 && s != http.StatusOK:
					t.Errorf("%s: new name %d answered %d (all: %v): %.200s", what, i, s, statuses, bodies[i])
				case i%2 == 0 && s == http.StatusOK:
					undos++
				case i%2 == 0 && s != http.StatusConflict:
					t.Errorf("%s: undo %d answered %d (all: %v): %.200s", what, i, s, statuses, bodies[i])
				}
			}
			if undos > 1 {
				t.Errorf("%s: %d undos answered 200 (all: %v), want at most 1", what, undos, statuses)
			}
			shown := raceStorefrontName(t, in, owner.token, biz)
			replayed, overwrote := raceStorefrontHistory(t, in, biz)
			if replayed != shown || len(overwrote) > 0 {
				t.Fatalf("%s: the log replayed ends on %q, the storefront shows %q; undos over a later change: %v (answers %v)", what, replayed, shown, overwrote, statuses)
			}
		}
		checkAuditChain(t, in)
	})
}

// raceRuleLiftedOverMembers replays the business's log in sequence order
// and lists each lifting of the two-step rule made while someone other
// than the owner belonged (joined, and neither removed nor their joining
// undone, before it). It also returns how many liftings it saw.
func raceRuleLiftedOverMembers(t *testing.T, in *apptest.Instance, biz string) ([]string, int) {
	t.Helper()
	members := map[string]string{} // user id: the joining event
	var bad []string
	lifted := 0
	for _, e := range raceChain(t, in, biz) {
		switch {
		case e.Action == "business.member_joined":
			members[e.TargetID] = e.ID
		case e.Action == "business.member_removed":
			delete(members, e.TargetID)
		case e.Action == "business.change_undone" && e.TargetType == "user":
			if m, ok := raceState(t, e.After)["member"].(bool); ok && !m {
				delete(members, e.TargetID)
			}
		case e.Action == "business.two_step_requirement_changed":
			if req, _ := raceState(t, e.After)["required"].(bool); req {
				continue
			}
			lifted++
			if len(members) > 0 {
				bad = append(bad, fmt.Sprintf("rule lifted by %s (seq %d) while members %v belonged", e.ID, e.Seq, members))
			}
		}
	}
	return bad, lifted
}

// A business that requires two-step verification, with only its owner:
// the rule can be lifted only while nobody else belongs. The owner lifts
// it (four requests) at the moment an invitee accepts (four requests):
// whichever goes first, the business's log never shows the rule lifted
// after the member joined — a lifting after the joining must be refused
// (409). Never a 500, one accept succeeds. On PostgreSQL the lifting read
// "nobody else" before the joining committed and was saved after it: the
// rule off over a member who joined under it. (The rule off with a member
// in is itself a fair end state when the lifting went first: the invitee
// then joined a business without the rule.) Four rounds, a new invitee
// each; the member is removed and the rule turned on again between them.
func TestRaceMoreTwoStepRuleOffBesideJoin(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		ctx := context.Background()
		owner, biz := newOwner(t, in, "owner@ruleoff.example", "Rule Off Goods")
		rule := "/api/v1/businesses/" + biz + "/two-step"
		if r := in.Do(t, "PUT", rule, owner.token, map[string]bool{"required": true}); r.Status != http.StatusOK {
			t.Fatalf("require two-step: %d %s", r.Status, r.Body)
		}
		offThenJoin := 0
		for round := range 4 {
			what := fmt.Sprintf("lift+accept round %d", round)
			p, invID := invitedPerson(t, in, owner.token, biz, fmt.Sprintf("joiner%d@ruleoff.example", round), map[string]string{"listings": "view"})
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				if i%2 == 1 {
					return rawRequest(t, in, "PUT", rule, "application/json", []byte(`{"required":false}`), owner.token, nil)
				}
				return rawRequest(t, in, "POST", "/api/v1/invitations/"+invID+"/accept", "", nil, p.token, nil)
			})
			raceNo5xx(t, what, statuses, bodies)
			accepted := 0
			for i, s := range statuses {
				switch {
				case i%2 == 0 && s == http.StatusOK:
					accepted++
				case s == http.StatusOK, s >= 400 && s < 500:
				default:
					t.Errorf("%s: request %d answered %d (all: %v)", what, i, s, statuses)
				}
			}
			if accepted != 1 {
				t.Errorf("%s: %d accepts answered 200 (all: %v), want 1", what, accepted, statuses)
			}
			required, err := in.DB.BusinessRequiresTwoStep(ctx, biz)
			if err != nil {
				t.Fatal(err)
			}
			member, _ := raceIsMember(t, in, biz, p.id)
			bad, lifted := raceRuleLiftedOverMembers(t, in, biz)
			if len(bad) > 0 {
				t.Fatalf("%s: rule required=%v, invitee member=%v (answers %v): %v", what, required, member, statuses, bad)
			}
			if !required && member {
				offThenJoin++
			}
			if lifted == 0 && !required {
				t.Fatalf("%s: the rule is off but the log shows no lifting", what)
			}
			if member {
				if r := in.Do(t, "DELETE", "/api/v1/businesses/"+biz+"/members/"+p.id, owner.token, nil); r.Status != http.StatusNoContent {
					t.Fatalf("%s: remove the member: %d %s", what, r.Status, r.Body)
				}
			}
			if r := in.Do(t, "PUT", rule, owner.token, map[string]bool{"required": true}); r.Status != http.StatusOK {
				t.Fatalf("%s: require two-step again: %d %s", what, r.Status, r.Body)
			}
		}
		if offThenJoin > 0 {
			t.Logf("%d of 4 rounds lifted the rule before the joining (rule off, member in: a serial outcome)", offThenJoin)
		}
		checkAuditChain(t, in)
	})
}

// A sign-up's emailed code takes five tries. Eight different wrong codes
// sent at once are eight tries, so the right code sent afterwards is
// refused (400) and no account is made — on PostgreSQL the eight tries
// counted as one (each read the count before the others wrote it), and the
// right code still made the account: a guesser got many more tries than
// five. Three rounds, a new sign-up each.
func TestRaceMoreSignupCodeTriesAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		for round := range 3 {
			what := fmt.Sprintf("sign-up code round %d", round)
			email := fmt.Sprintf("guess%d@signup-race.example", round)
			if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Guess Goods"}); r.Status != 202 {
				t.Fatalf("%s: sign-up: %d %s", what, r.Status, r.Body)
			}
			code := in.LastCode(t, email)
			statuses, bodies := raceBurst(raceN, func(i int) (int, string) {
				wrong := fmt.Sprintf("%06d", (i+1)*111111%1000000)
				if wrong == code {
					wrong = "000000"
				}
				return rawRequest(t, in, "POST", "/api/v1/signup/verify", "application/json", raceJSON(t, map[string]string{"email": email, "code": wrong}), "", nil)
			})
			raceOnly(t, what, statuses, bodies, http.StatusBadRequest)
			if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": code}); r.Status != http.StatusBadRequest {
				t.Errorf("%s: the right code after %d wrong ones at once answered %d %s, want 400 (five tries)", what, raceN, r.Status, r.Body)
			}
			if _, err := in.DB.FindUserByEmail(context.Background(), email); err == nil {
				t.Errorf("%s: an account was made after %d wrong codes", what, raceN)
			}
		}
	})
}
