package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// IdempotencyHeader names the key a client sends with a request that
// creates something, so that a retry after a timeout never creates two.
const IdempotencyHeader = "Idempotency-Key"

// idempotent makes a creating handler honour Idempotency-Key (DESIGN 6a).
// The key is the caller's own. The first request claims it; its successful
// answer is kept for a day and a retry of the same request (method, path
// and body) gets that answer again, marked Idempotent-Replayed: true. A
// refused request (any error) changed nothing and releases the key. The
// same key for another request, or while the first still runs, is a
// conflict. Only routes whose answers carry no secret use this: what is
// kept is stored in the clear.
func (s *Server) idempotent(h func(http.ResponseWriter, *http.Request, *session.Principal) error) func(http.ResponseWriter, *http.Request, *session.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		key := r.Header.Get(IdempotencyHeader)
		if key == "" {
			return h(w, r, p)
		}
		if len(key) > 255 || !printableASCII(key) {
			return sellerguard.Invalid(sellerguard.FieldError{Field: IdempotencyHeader, Code: "invalid", Message: "An Idempotency-Key is 1 to 255 printable ASCII characters, such as a UUID."})
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + "\n"))
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))
		replay, err := s.Session.BeginIdempotent(r.Context(), p.User.ID, key, hash)
		if err != nil {
			return err
		}
		if replay != nil {
			w.Header().Set("Content-Type", replay.ContentType)
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(replay.Status)
			_, _ = io.WriteString(w, replay.Body)
			return nil
		}
		rec := &capture{ResponseWriter: w}
		if err := h(rec, r, p); err != nil {
			if rerr := s.Session.ReleaseIdempotent(r.Context(), p.User.ID, key); rerr != nil {
				s.Logger.Warn("idempotency: could not release a refused request's key", "err", rerr)
			}
			return err
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		err = s.Session.FinishIdempotent(r.Context(), store.IdempotencyRecord{UserID: p.User.ID, Key: key, Status: status,
			ContentType: rec.Header().Get("Content-Type"), Body: rec.body.String()})
		if err != nil {
			// The change is made and answered; a retry with this key will be
			// told its outcome is unknown rather than make a second one.
			s.Logger.Warn("idempotency: could not keep the answer", "err", err, "status", strconv.Itoa(status))
		}
		return nil
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// capture passes an answer through and keeps a copy of it.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}
