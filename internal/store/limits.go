package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/limiter"
)

var _ limiter.Store = (*Tx)(nil)

// counterUpsert counts one more on the counter named by the placeholder
// key, recording the address named by ip; $2 is now, $4 the expiry, $5 the
// window's start (IncrementCounter).
func counterUpsert(key, ip string) string {
	return `INSERT INTO limit_counters (key, count, first_at, last_at, last_ip, expires_at)
		VALUES (` + key + `, 1, $2, $2, ` + ip + `, $4)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN limit_counters.expires_at <= $2 OR limit_counters.first_at < $5 THEN 1 ELSE limit_counters.count + 1 END,
			first_at = CASE WHEN limit_counters.expires_at <= $2 OR limit_counters.first_at < $5 THEN $2 ELSE limit_counters.first_at END,
			last_at = $2, last_ip = ` + ip + `, expires_at = $4`
}

// counterCols are a counter's columns but its key, as scanCounter reads them.
const counterCols = `count, first_at, last_at, last_ip, expires_at`

// scanCounter scans counterCols, then any further columns into more.
func scanCounter(row interface{ Scan(...any) error }, key string, more ...any) (limiter.Counter, error) {
	c := limiter.Counter{Key: key}
	var first, last, exp int64
	if err := row.Scan(append([]any{&c.Count, &first, &last, &c.LastIP, &exp}, more...)...); err != nil {
		return c, err
	}
	c.FirstAt, c.LastAt, c.ExpiresAt = fromTS(first), fromTS(last), fromTS(exp)
	return c, nil
}

// IncrementCounter implements limiter.Store in one atomic upsert, so
// concurrent failures on any instance are all counted.
func (s queries) IncrementCounter(ctx context.Context, key string, now, windowStart, expiresAt time.Time, ip string) (limiter.Counter, error) {
	c, err := scanCounter(s.q.QueryRowContext(ctx, counterUpsert("$1", "$3")+` RETURNING `+counterCols,
		key, ts(now), ip, ts(expiresAt), ts(windowStart)), key)
	if err != nil {
		return c, fmt.Errorf("store: increment counter: %w", err)
	}
	return c, nil
}

// RecordSuccess implements limiter.SuccessStore: it deletes clear, counts
// known (unless "") and seen, both expiring at expiresAt, and returns seen
// after the change. On PostgreSQL that is one statement (afterFirsts; the
// three rows are distinct by their keys' prefixes, so no row is changed
// twice in it).
func (s queries) RecordSuccess(ctx context.Context, clear, known, seen, ip string, now, expiresAt time.Time) (limiter.Counter, error) {
	args := []any{seen, ts(now), ip, ts(expiresAt), int64(0), clear}
	firsts := []string{`DELETE FROM limit_counters WHERE key = $6`}
	if known != "" {
		args = append(args, known)
		firsts = append(firsts, counterUpsert("$7", "''"))
	}
	q, err := s.afterFirsts(ctx, firsts, counterUpsert("$1", "$3")+` RETURNING `+counterCols, args)
	if err != nil {
		return limiter.Counter{}, fmt.Errorf("store: record sign-in success: %w", err)
	}
	c, err := scanCounter(s.q.QueryRowContext(ctx, q, args...), seen)
	if err != nil {
		return c, fmt.Errorf("store: record sign-in success: %w", err)
	}
	return c, nil
}

// GetCounters implements limiter.CounterReader: the live counters among
// keys, by key (one read).
func (s queries) GetCounters(ctx context.Context, now time.Time, keys ...string) (map[string]limiter.Counter, error) {
	out := make(map[string]limiter.Counter, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + counterCols + `, key FROM limit_counters WHERE expires_at > $1 AND key IN (`)
	args := make([]any, 0, len(keys)+1)
	args = append(args, ts(now))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+2))
		args = append(args, k)
	}
	b.WriteString(")")
	rows, err := s.q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: get counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		c, err := scanCounter(rows, "", &key)
		if err != nil {
			return nil, fmt.Errorf("store: get counters: %w", err)
		}
		c.Key = key
		out[key] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: get counters: %w", err)
	}
	return out, nil
}

// GetCounter implements limiter.Store.
func (s queries) GetCounter(ctx context.Context, key string, now time.Time) (limiter.Counter, error) {
	cs, err := s.GetCounters(ctx, now, key)
	if c, ok := cs[key]; ok {
		return c, nil
	}
	return limiter.Counter{Key: key}, err
}

// DeleteCounter implements limiter.Store.
func (s queries) DeleteCounter(ctx context.Context, key string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM limit_counters WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: delete counter: %w", err)
	}
	return nil
}

// likeEscape escapes LIKE wildcards so a prefix matches literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// DeleteCountersWithPrefix removes every counter whose key starts with
// prefix and returns how many.
func (s queries) DeleteCountersWithPrefix(ctx context.Context, prefix string) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM limit_counters WHERE key LIKE $1 ESCAPE '\'`, likeEscape(prefix)+"%")
	if err != nil {
		return 0, fmt.Errorf("store: delete counters: %w", err)
	}
	return res.RowsAffected()
}

// ListCounters lists live counters whose key starts with prefix, busiest
// first.
func (s queries) ListCounters(ctx context.Context, prefix string, now time.Time, limit int) ([]limiter.Counter, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+counterCols+`, key FROM limit_counters
		WHERE key LIKE $1 ESCAPE '\' AND expires_at > $2 ORDER BY count DESC, key LIMIT $3`, likeEscape(prefix)+"%", ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list counters: %w", err)
	}
	defer rows.Close()
	var out []limiter.Counter
	for rows.Next() {
		var key string
		c, err := scanCounter(rows, "", &key)
		if err != nil {
			return nil, err
		}
		c.Key = key
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteExpiredCounters removes counters past their expiry, and expired
// unlock codes.
func (s queries) DeleteExpiredCounters(ctx context.Context, now time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM limit_counters WHERE expires_at <= $1`, ts(now)); err != nil {
		return fmt.Errorf("store: expire counters: %w", err)
	}
	if _, err := s.q.ExecContext(ctx, `DELETE FROM unlock_codes WHERE expires_at <= $1`, ts(now)); err != nil {
		return fmt.Errorf("store: expire unlock codes: %w", err)
	}
	return nil
}

// UnlockCode is a stored unlock code (its HMAC only).
type UnlockCode struct {
	EmailNorm string
	CodeMAC   string
	Attempts  int
	ExpiresAt time.Time
	CreatedAt time.Time
}

// PutUnlockCode stores a new unlock code for an account, replacing any other.
func (s queries) PutUnlockCode(ctx context.Context, u UnlockCode) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO unlock_codes (email_norm, code_mac, attempts, expires_at, created_at) VALUES ($1, $2, 0, $3, $4)
		ON CONFLICT (email_norm) DO UPDATE SET code_mac = excluded.code_mac, attempts = 0, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		u.EmailNorm, u.CodeMAC, ts(u.ExpiresAt), ts(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put unlock code: %w", err)
	}
	return nil
}

// FindUnlockCode returns the live unlock code of an account.
func (s queries) FindUnlockCode(ctx context.Context, emailNorm string, now time.Time) (UnlockCode, error) {
	u := UnlockCode{EmailNorm: emailNorm}
	var exp, created int64
	err := s.q.QueryRowContext(ctx, `SELECT code_mac, attempts, expires_at, created_at FROM unlock_codes WHERE email_norm = $1 AND expires_at > $2`, emailNorm, ts(now)).
		Scan(&u.CodeMAC, &u.Attempts, &exp, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("store: find unlock code: %w", err)
	}
	u.ExpiresAt, u.CreatedAt = fromTS(exp), fromTS(created)
	return u, nil
}

// CountUnlockAttempt records one try of an unlock code.
func (s queries) CountUnlockAttempt(ctx context.Context, emailNorm string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE unlock_codes SET attempts = attempts + 1 WHERE email_norm = $1`, emailNorm); err != nil {
		return fmt.Errorf("store: unlock attempt: %w", err)
	}
	return nil
}

// DeleteUnlockCode removes an account's unlock code.
func (s queries) DeleteUnlockCode(ctx context.Context, emailNorm string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM unlock_codes WHERE email_norm = $1`, emailNorm); err != nil {
		return fmt.Errorf("store: delete unlock code: %w", err)
	}
	return nil
}
