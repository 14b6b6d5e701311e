package auditbench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// dataVersion names what the generator makes; bump it when the generated
// data changes, so cached databases of the old data are not reused.
const dataVersion = 1

// The seeded log spans the 90 days before seedEnd; the change review
// measures the last 30 of them (the services' clock is set to seedEnd).
var seedEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const (
	seedSpan   = 90 * 24 * time.Hour
	membersPer = 5 // members of each business: usr_<b>_0 (the owner) … usr_<b>_4
	busyID     = "biz_0"
)

// benchSize is the size of the seeded log.
type benchSize struct{ events, businesses int }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// sizeFromEnv reads the size; the defaults keep a plain -bench run quick.
func sizeFromEnv() benchSize {
	return benchSize{
		events:     envInt("SELLERGUARD_AUDITBENCH_EVENTS", 20_000),
		businesses: envInt("SELLERGUARD_AUDITBENCH_BUSINESSES", 200),
	}
}

func (s benchSize) String() string { return fmt.Sprintf("%de-%db", s.events, s.businesses) }

// weighted is an action with its share of a chain's events.
type weighted struct {
	action, category, targetType string
	weight                       int
	before, after                string
}

// Business chains: mostly listing edits (the change review's busiest
// category), the other review categories, and events the review does not
// show (access reviews, reminders, rules).
var businessActions = []weighted{
	{"business.listing_changed", sellerguard.CategoryBusiness, "listing", 450, `{"condition":"used_good","condition_note":"Light wear on the cover"}`, `{"condition":"used_very_good","condition_note":"Like new"}`},
	{"business.listing_created", sellerguard.CategoryBusiness, "listing", 80, `{}`, `{"condition":"new","price":"19.99","title":"Desk lamp"}`},
	{"business.listings_bulk_changed", sellerguard.CategoryBusiness, "listings", 20, `{"count":25}`, `{"count":25,"field":"price"}`},
	{"business.storefront_changed", sellerguard.CategoryBusiness, "storefront", 30, `{"phone":"+1 206 555 0100"}`, `{"phone":"+1 206 555 0199"}`},
	{"business.member_permissions_changed", sellerguard.CategoryBusiness, "membership", 10, `{"permissions":{"listings":"view"}}`, `{"permissions":{"listings":"edit"}}`},
	{"business.member_invited", sellerguard.CategoryBusiness, "invitation", 10, `{}`, `{"email":"new.member@example.com"}`},
	{"business.member_joined", sellerguard.CategoryBusiness, "membership", 5, `{}`, `{"permissions":{"listings":"edit"}}`},
	{"business.deposit_account_added", sellerguard.CategoryBusiness, "deposit_account", 5, `{"account":"****1234"}`, `{"account":"****9876"}`},
	{"business.charge_method_changed", sellerguard.CategoryBusiness, "charge_method", 5, `{"card":"****4242"}`, `{"card":"****1881"}`},
	{"business.access_review_started", sellerguard.CategoryBusiness, "business", 20, `{}`, `{"members":5}`},
	{"business.member_reminded", sellerguard.CategoryBusiness, "membership", 30, `{}`, `{"reason":"two_step"}`},
	{"business.review_settings_changed", sellerguard.CategoryBusiness, "business", 10, `{"interval_days":0}`, `{"interval_days":90}`},
	{"business.payment_changed", sellerguard.CategoryBusiness, "payment", 30, `{"status":"pending"}`, `{"status":"paid"}`},
}

// User chains: mostly sign-ins and sessions, a few account changes (the
// change review's email preferences).
var userActions = []weighted{
	{"session.created", sellerguard.CategorySession, "session", 300, `{}`, ``}, // after: made per event
	{"session.ended", sellerguard.CategorySession, "session", 200, `{}`, `{"reason":"signed_out"}`},
	{"session.reauthenticated", sellerguard.CategorySession, "session", 150, `{}`, `{"method":"password"}`},
	{"session.signin_failed", sellerguard.CategorySession, "user", 100, `{}`, `{"reason":"wrong_password"}`},
	{"account.password_changed", sellerguard.CategoryAccount, "user", 20, `{}`, `{}`},
	{"account.notifications_changed", sellerguard.CategoryAccount, "user", 20, `{"payment_changed":{"email":true}}`, `{"payment_changed":{"email":false}}`},
	{"account.email_changed", sellerguard.CategoryAccount, "user", 5, `{"email":"old@example.com"}`, `{"email":"new@example.com"}`},
	{"account.phone_changed", sellerguard.CategoryAccount, "user", 5, `{"phone":"***0100"}`, `{"phone":"***0199"}`},
	{"account.phishing_phrase_changed", sellerguard.CategoryAccount, "user", 5, `{"phrase":"[set]"}`, `{"phrase":"[set]"}`},
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
}

func pick(rng *rand.Rand, ws []weighted, total int) *weighted {
	r := rng.IntN(total)
	for i := range ws {
		if r < ws[i].weight {
			return &ws[i]
		}
		r -= ws[i].weight
	}
	return &ws[len(ws)-1]
}

func totalWeight(ws []weighted) int {
	t := 0
	for _, w := range ws {
		t += w.weight
	}
	return t
}

type chainHead struct {
	seq  int64
	hash string
}

// generator makes the seeded events in time order. Businesses are drawn
// from a Zipf distribution (s = 1.1, v = 10): biz_0 gets about 2 % of all
// events, the ten busiest about 17 %, the quietest a handful each. Half of
// the events are in a business's chain (made by one of its members, in
// that member's current session), half in a member's own chain. Every
// change carries its session; every session starts with a
// "session.created" event (known_browser true nine times in ten).
type generator struct {
	rng       *rand.Rand
	zipf      *rand.Zipf
	size      benchSize
	heads     map[string]*chainHead
	sessions  map[string]string // user -> current session id
	step      time.Duration
	start     time.Time
	bizTotal  int
	userTotal int
	i         int
	enc       *base32.Encoding
	idbuf     [16]byte
}

func newGenerator(size benchSize) *generator {
	rng := rand.New(rand.NewPCG(15, 19))
	return &generator{
		rng: rng, zipf: rand.NewZipf(rng, 1.1, 10, uint64(size.businesses-1)), size: size,
		heads: map[string]*chainHead{}, sessions: map[string]string{},
		step: seedSpan / time.Duration(size.events), start: seedEnd.Add(-seedSpan),
		bizTotal: totalWeight(businessActions), userTotal: totalWeight(userActions),
		enc: base32.StdEncoding.WithPadding(base32.NoPadding),
	}
}

func (g *generator) randomID(prefix string) string {
	binary.LittleEndian.PutUint64(g.idbuf[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(g.idbuf[8:], g.rng.Uint64())
	return prefix + strings.ToLower(g.enc.EncodeToString(g.idbuf[:]))
}

// next returns the next event, chained (seq, prev_hash, hash).
func (g *generator) next() store.AuditRecord {
	biz := int(g.zipf.Uint64())
	bizID := "biz_" + strconv.Itoa(biz)
	user := "usr_" + strconv.Itoa(biz) + "_" + strconv.Itoa(g.rng.IntN(membersPer))
	at := g.start.Add(time.Duration(g.i) * g.step).Truncate(time.Microsecond)
	g.i++
	ip := "192.0.2." + strconv.Itoa(1+biz%250)
	ua := userAgents[biz%len(userAgents)]
	rec := store.AuditRecord{SubjectID: user}
	rec.ID, rec.ActorID, rec.ActorEmail, rec.IP, rec.UserAgent, rec.CreatedAt = g.randomID("evt_"), user, user+"@example.com", ip, ua, at
	session := g.sessions[user]
	switch {
	case session == "" || g.rng.IntN(2) == 0: // the member's own chain
		w := pick(g.rng, userActions, g.userTotal)
		if session == "" {
			w = &userActions[0] // a member's first event is a sign-in
		}
		rec.Chain, rec.Action, rec.Category, rec.TargetType, rec.Before, rec.After = "u:"+user, w.action, w.category, w.targetType, w.before, w.after
		rec.TargetID, rec.SessionID = user, session
		if w.action == "session.created" {
			s := g.randomID("ses_")
			g.sessions[user] = s
			rec.TargetID, rec.SessionID = s, ""
			rec.After = `{"known_browser":` + strconv.FormatBool(g.rng.IntN(10) != 0) + `,"level":"full","new_device":false,"trusted_browser":false,"upgraded_params":false,"with_unlock_code":false}`
		} else if strings.HasPrefix(w.action, "session.") {
			rec.TargetID = session
		}
	default: // the business's chain
		w := pick(g.rng, businessActions, g.bizTotal)
		rec.Chain, rec.BusinessID, rec.Action, rec.Category, rec.TargetType, rec.Before, rec.After = "b:"+bizID, bizID, w.action, w.category, w.targetType, w.before, w.after
		rec.SessionID = session
		switch w.targetType {
		case "listing":
			rec.TargetID = "lst_" + strconv.Itoa(biz) + "_" + strconv.Itoa(g.rng.IntN(500))
		case "membership":
			rec.TargetID = "usr_" + strconv.Itoa(biz) + "_" + strconv.Itoa(1+g.rng.IntN(membersPer-1))
		default:
			rec.TargetID = bizID
		}
	}
	h := g.heads[rec.Chain]
	if h == nil {
		h = &chainHead{}
		g.heads[rec.Chain] = h
	}
	rec.Seq, rec.PrevHash = h.seq+1, h.hash
	rec.Hash = audit.Hash(rec)
	h.seq, h.hash = rec.Seq, rec.Hash
	return rec
}

func auditArgs(e *store.AuditRecord) []any {
	return []any{e.ID, e.Chain, e.Seq, e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail, e.Action, e.Category, e.TargetType, e.TargetID,
		e.IP, e.UserAgent, e.Before, e.After, e.CreatedAt.UnixMicro(), e.PrevHash, e.Hash, e.SessionID}
}

var auditColumns = []string{"id", "chain", "seq", "business_id", "subject_id", "actor_id", "actor_email", "action", "category", "target_type", "target_id",
	"ip", "user_agent", "before_json", "after_json", "created_at", "prev_hash", "hash", "session_id"}

// seeded is a seeded database, open through the store.
type seeded struct {
	DB      *store.DB
	URL     string
	Size    benchSize
	Members []string // the busy business's members, the owner first
}

func schemaVersion(tb testing.TB, dialect string) int {
	migs, err := store.Migrations(dialect)
	if err != nil {
		tb.Fatal(err)
	}
	return migs[len(migs)-1].Version
}

// cacheKey names a seeded database: the schema version and a digest of the
// migrations' text (an edited migration is a new schema), the data version
// and the size.
func cacheKey(tb testing.TB, dialect string, size benchSize) string {
	migs, err := store.Migrations(dialect)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	for _, m := range migs {
		h.Write([]byte(m.SQL))
	}
	return fmt.Sprintf("s%d-%x-d%d-%s", schemaVersion(tb, dialect), h.Sum(nil)[:4], dataVersion, size)
}

func cacheDir() string {
	if d := os.Getenv("SELLERGUARD_AUDITBENCH_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sellerguard-auditbench")
}

// openSeeded returns the seeded database of this size, from the cache or
// seeded now (and then cached). The caller closes DB.
func openSeeded(tb testing.TB, dialect string, size benchSize) *seeded {
	tb.Helper()
	ctx := context.Background()
	key := cacheKey(tb, dialect, size)
	var url string
	switch dialect {
	case store.SQLite:
		url = "sqlite://" + seedSQLite(tb, key, size)
	case store.Postgres:
		url = seedPostgres(tb, key, size)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if v, err := db.Version(ctx); err != nil || v != schemaVersion(tb, dialect) {
		tb.Fatalf("cached database at schema version %d (%v), want %d", v, err, schemaVersion(tb, dialect))
	}
	s := &seeded{DB: db, URL: url, Size: size}
	for k := range membersPer {
		s.Members = append(s.Members, "usr_0_"+strconv.Itoa(k))
	}
	return s
}

func seedSQLite(tb testing.TB, key string, size benchSize) string {
	dir := cacheDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	final := filepath.Join(dir, "audit-"+key+".db")
	if _, err := os.Stat(final); err == nil {
		tb.Logf("sqlite: using cached %s", final)
		return final
	}
	tmp := final + ".seeding-" + strconv.Itoa(os.Getpid())
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			_ = os.Remove(tmp + suffix)
		}
	}()
	ctx := context.Background()
	migrateEmpty(tb, "sqlite://"+tmp)
	raw, err := sql.Open("sqlite", tmp+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-1000000)&_pragma=foreign_keys(0)")
	if err != nil {
		tb.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	seedRaw(tb, ctx, raw, store.SQLite, size, nil)
	if _, err := raw.Exec(`PRAGMA journal_mode=WAL`); err != nil {
		tb.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		tb.Fatal(err)
	}
	return final
}

func migrateEmpty(tb testing.TB, url string) {
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

func seedPostgres(tb testing.TB, key string, size benchSize) string {
	ctx := context.Background()
	admin := os.Getenv(testenv.PostgresURLEnv)
	if admin == "" {
		testenv.PostgresURL(tb) // reports the missing server the project's way
		return ""
	}
	name := "sgauditbench_" + strings.ReplaceAll(key, "-", "_")
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	urlOf := func(db string) string {
		u := strings.Replace(admin, "/postgres?", "/"+db+"?", 1)
		if u == admin {
			tb.Fatalf("%s must name the database postgres (…/postgres?…)", testenv.PostgresURLEnv)
		}
		return u
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	if n == 1 {
		tb.Logf("postgres: using cached database %s", name)
		return urlOf(name)
	}
	tmp := name + "_seeding"
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{tmp}.Sanitize()+` WITH (FORCE)`); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{tmp}.Sanitize()+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		tb.Fatal(err)
	}
	ok := false
	defer func() {
		if !ok {
			_, _ = conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+pgx.Identifier{tmp}.Sanitize()+` WITH (FORCE)`)
		}
	}()
	migrateEmpty(tb, urlOf(tmp))
	raw, err := sql.Open("pgx", urlOf(tmp))
	if err != nil {
		tb.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	copyConn, err := pgx.Connect(ctx, urlOf(tmp))
	if err != nil {
		tb.Fatal(err)
	}
	seedRaw(tb, ctx, raw, store.Postgres, size, copyConn)
	_ = copyConn.Close(ctx)
	if err := raw.Close(); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{tmp}.Sanitize()+` RENAME TO `+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatal(err)
	}
	ok = true
	return urlOf(name)
}

// seedRaw fills a migrated, empty database: the businesses, their members,
// the audit events (with the audit_events indexes dropped during the load
// and built again after it, as a bulk load does) and the chain heads.
// PostgreSQL loads the events with COPY (copyConn), SQLite with batched
// multi-row INSERTs, 50,000 rows a transaction.
func seedRaw(tb testing.TB, ctx context.Context, raw *sql.DB, dialect string, size benchSize, copyConn *pgx.Conn) {
	start := time.Now()
	created := seedEnd.Add(-seedSpan - time.Hour).UnixMicro()
	var users, businesses, members [][]any
	for b := range size.businesses {
		bid := "biz_" + strconv.Itoa(b)
		businesses = append(businesses, []any{bid, "Business " + strconv.Itoa(b), created})
		for k := range membersPer {
			uid := "usr_" + strconv.Itoa(b) + "_" + strconv.Itoa(k)
			users = append(users, []any{uid, uid + "@example.com", uid + "@example.com", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", created, "active", created})
			role := sellerguard.RoleMember
			if k == 0 {
				role = sellerguard.RoleOwner
			}
			members = append(members, []any{bid, uid, role, "active", created + int64(k)})
		}
	}
	insertRows(tb, ctx, raw, "businesses", []string{"id", "name", "created_at"}, businesses)
	insertRows(tb, ctx, raw, "users", []string{"id", "email", "email_norm", "password_hash", "password_changed_at", "status", "created_at"}, users)
	insertRows(tb, ctx, raw, "memberships", []string{"business_id", "user_id", "role", "status", "created_at"}, members)

	rebuild := dropAuditIndexes(tb, ctx, raw, dialect)
	g := newGenerator(size)
	if dialect == store.Postgres {
		i := 0
		n, err := copyConn.CopyFrom(ctx, pgx.Identifier{"audit_events"}, auditColumns, pgx.CopyFromFunc(func() ([]any, error) {
			if i == size.events {
				return nil, nil
			}
			i++
			e := g.next()
			return auditArgs(&e), nil
		}))
		if err != nil || n != int64(size.events) {
			tb.Fatalf("copy: %d rows, %v", n, err)
		}
	} else {
		// One prepared statement of 50 rows, reused: SQLite parses a long
		// multi-row VALUES slowly, so it must not be parsed per batch.
		rows := make([][]any, 0, 50_000) // 50,000 rows a transaction
		flush := func() {
			insertRows(tb, ctx, raw, "audit_events", auditColumns, rows)
			rows = rows[:0]
		}
		for range size.events {
			e := g.next()
			rows = append(rows, auditArgs(&e))
			if len(rows) == cap(rows) {
				flush()
			}
		}
		flush()
	}
	loaded := time.Since(start)
	var heads [][]any
	for chain, h := range g.heads {
		heads = append(heads, []any{chain, h.seq, h.hash})
	}
	insertRows(tb, ctx, raw, "audit_heads", []string{"chain", "seq", "hash"}, heads)
	rebuild()
	if dialect == store.Postgres {
		// A log that has lived has been vacuumed and analysed by autovacuum.
		if _, err := raw.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			tb.Fatal(err)
		}
	}
	// SQLite: no ANALYZE, since production never runs one; the queries
	// must be fast on the planner's defaults.
	tb.Logf("%s: seeded %d events over %d businesses (%d chains): load %s, indexes %s", dialect, size.events, size.businesses, len(g.heads),
		loaded.Round(time.Second), (time.Since(start) - loaded).Round(time.Second))
}

func insertSQL(table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ",") + ") VALUES ")
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insertRows inserts rows in one transaction, 50 a statement, through one
// prepared statement.
func insertRows(tb testing.TB, ctx context.Context, raw *sql.DB, table string, cols []string, rows [][]any) {
	const batch = 50
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, insertSQL(table, cols, batch))
	if err != nil {
		tb.Fatal(err)
	}
	args := make([]any, 0, batch*len(cols))
	for len(rows) > 0 {
		n := min(batch, len(rows))
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if n == batch {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(table, cols, n), args...)
		}
		if err != nil {
			tb.Fatalf("insert %s: %v", table, err)
		}
		rows = rows[n:]
	}
	if err := stmt.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// dropAuditIndexes drops audit_events' secondary indexes (and, on
// PostgreSQL, its primary key and unique constraint) and returns the
// function that builds them again, from their own stored definitions.
func dropAuditIndexes(tb testing.TB, ctx context.Context, raw *sql.DB, dialect string) (rebuild func()) {
	var defs []string
	var q, drop string
	if dialect == store.SQLite {
		q = `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL`
		drop = `DROP INDEX %s`
	} else {
		q = `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' AND schemaname = current_schema()
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = indexname)`
		drop = `DROP INDEX %s`
	}
	rows, err := raw.QueryContext(ctx, q)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			tb.Fatal(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	_ = rows.Close()
	var constraints []string // PostgreSQL: ALTER TABLE … ADD CONSTRAINT …
	if dialect == store.Postgres {
		rows, err := raw.QueryContext(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'audit_events'::regclass AND contype IN ('p', 'u')`)
		if err != nil {
			tb.Fatal(err)
		}
		var cnames []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				tb.Fatal(err)
			}
			cnames = append(cnames, name)
			constraints = append(constraints, `ALTER TABLE audit_events ADD CONSTRAINT `+name+` `+def)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		_ = rows.Close()
		for _, c := range cnames {
			if _, err := raw.ExecContext(ctx, `ALTER TABLE audit_events DROP CONSTRAINT `+c); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for _, n := range names {
		if _, err := raw.ExecContext(ctx, fmt.Sprintf(drop, n)); err != nil {
			tb.Fatal(err)
		}
	}
	if len(names) == 0 {
		tb.Fatal(errors.New("audit_events has no indexes to drop: schema changed?"))
	}
	return func() {
		if dialect == store.Postgres {
			for _, s := range []string{`SET maintenance_work_mem = '512MB'`, `SET max_parallel_maintenance_workers = 1`} {
				if _, err := raw.ExecContext(ctx, s); err != nil {
					tb.Fatal(err)
				}
			}
		}
		for _, d := range append(constraints, defs...) {
			t0 := time.Now()
			if _, err := raw.ExecContext(ctx, d); err != nil {
				tb.Fatalf("%s: %v", d, err)
			}
			tb.Logf("%s: %s", time.Since(t0).Round(time.Millisecond), d)
		}
	}
}
