package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/session"
)

type principalKey struct{}

// api adapts a handler that returns an error.
func (s *Server) api(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _ = withReqState(r)
		if err := h(w, r); err != nil {
			s.writeProblem(w, r, err)
		}
	})
}

// apiAuthed adapts a handler that needs a fully signed-in caller (password
// and, where enrolled, the second step). The token comes from
// "Authorization: Bearer" (programs) or the session cookie (pages' own
// scripts); one session model serves both.
func (s *Server) apiAuthed(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.apiFull(func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if err := p.RequireNoPendingPasswordChange(); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

// apiFull adapts a handler that a fully signed-in user may call even while
// they must change their password (the change itself, who am I).
func (s *Server) apiFull(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.apiSession(func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if err := p.RequireFull(); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

// apiBusiness adapts a handler of business data: a full session, and
// two-step verification where a business of the caller requires it.
func (s *Server) apiBusiness(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.apiSession(func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if err := p.RequireFull(); err != nil {
			return err
		}
		if err := p.RequireNoPendingPasswordChange(); err != nil {
			return err
		}
		if err := p.RequireBusinessAccess(); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

// apiSession adapts a handler that any session may call, even one that has
// not finished its second step (finishing it, signing out).
func (s *Server) apiSession(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		if err := s.requireJSONWithCookie(r); err != nil {
			return err
		}
		// The principal is copied into the request's state (allocated
		// anyway), not a new allocation of its own: the hot path.
		r, st := withReqState(r)
		if err := s.authenticateInto(r, &st.caller); err != nil {
			return err
		}
		p := &st.caller
		st.principal = p // the answer speaks the caller's language
		// Audit events name their session: the request's own context
		// answers audit.SessionKey from st, with no new context.
		if rc := reqContextOf(r); rc != nil && &rc.st == st {
			st.sessionID = p.Session.ID
		} else {
			r = r.WithContext(audit.WithSession(r.Context(), p.Session.ID))
		}
		return h(w, r, p)
	})
}

func (s *Server) authenticate(r *http.Request) (*session.Principal, error) {
	p := new(session.Principal)
	if err := s.authenticateInto(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// authenticateInto is authenticate writing the caller into dst.
func (s *Server) authenticateInto(r *http.Request, dst *session.Principal) error {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return session.ErrUnauthenticated
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(s.cookieName()); err == nil {
		token = c.Value
	}
	if token == "" {
		return session.ErrUnauthenticated
	}
	return s.Session.AuthenticateInto(r.Context(), token, dst)
}

var errMalformed = sellerguard.Errorf(sellerguard.ECodeMalformedJSON, "The request body is not valid JSON for this operation.")

// decodeJSON reads exactly one JSON object into v: unknown fields and
// trailing data are refused, and the size is capped.
// readBody reads a request body within the body limit: too_large past it,
// malformed_json when the body cannot be read.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, errMalformed
	}
	return body, nil
}

func decodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends application/x-www-form-urlencoded by default; a JSON
		// body under that label is still parsed strictly as JSON. Browsers
		// cannot use it for cross-site requests: CrossOriginProtection
		// refuses those before any handler runs.
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "application/x-www-form-urlencoded") {
			return sellerguard.Errorf(sellerguard.ECodeUnsupportedMedia, "Send the body as application/json.")
		}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return &sellerguard.Error{Code: sellerguard.ECodeMalformedJSON, Message: "The request body is not valid UTF-8."}
	}
	// First as a plain object, to name any field this operation does not take.
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return errMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return errMalformed // trailing data after the object
	}
	if bytes.Contains(body, []byte(`\u0000`)) {
		if err := nulField(raw, bytesFieldNames(v)); err != nil {
			return err
		}
	}
	known := jsonFieldNames(v)
	var unknown []sellerguard.FieldError
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, sellerguard.FieldError{Field: k, Code: "unknown_field", Message: "This operation does not take this field."})
		}
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool { return unknown[i].Field < unknown[j].Field })
		return &sellerguard.Error{Code: sellerguard.ECodeMalformedJSON, Message: "The request has fields this operation does not take.", Fields: unknown}
	}
	dec = json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // nested objects too
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return sellerguard.Invalid(sellerguard.FieldError{Field: ute.Field, Code: "wrong_type", Message: "This field has the wrong type."})
		}
		return errMalformed
	}
	return nil
}

// nulField refuses an object with a NUL character in a key or anywhere in
// a field's value, naming the field; the values of bytesFields (tagged
// `text:"bytes"`: a raw email, analysed and stored as bytes) may hold one.
// Valid JSON can only write one as the escape \u0000, which decodeJSON
// looks for first.
func nulField(raw map[string]json.RawMessage, bytesFields map[string]bool) error {
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if strings.IndexByte(k, 0) >= 0 {
			return errBadText
		}
		if !bytesFields[k] && bytes.Contains(raw[k], []byte(`\u0000`)) && jsonHasNUL(raw[k]) {
			return badTextField(k)
		}
	}
	return nil
}

// jsonHasNUL reports whether a JSON text has a NUL character in one of its
// strings (keys too); a text that is not JSON reports false.
func jsonHasNUL(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
}

// bytesFieldNames lists the JSON names of a struct pointer's fields that
// carry bytes rather than text (tag `text:"bytes"`).
func bytesFieldNames(v any) map[string]bool {
	return jsonNames(v, func(f reflect.StructField) bool { return f.Tag.Get("text") == "bytes" })
}

// jsonFieldNames lists the JSON names of a struct pointer's fields.
func jsonFieldNames(v any) map[string]bool {
	return jsonNames(v, func(reflect.StructField) bool { return true })
}

// jsonNames lists the JSON names of the struct pointer's fields that keep
// reports true for (a field without a json tag: its Go name).
func jsonNames(v any, keep func(reflect.StructField) bool) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	out := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !keep(f) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		out[name] = true
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header()["Content-Type"] = hdrApplicationJSON
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
