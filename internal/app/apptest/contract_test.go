package apptest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The contract check is only worth something if it can fail: an answer
// whose body, status or content type the document does not describe is
// reported; a described one is not.
func TestContractCatchesUndocumentedAnswers(t *testing.T) {
	if _, _, err := apptest.Contract(); err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	for _, c := range []struct {
		name, method, target string
		status               int
		header               http.Header
		body                 string
		wantProblem          string
	}{
		{"health as documented", "GET", "/healthz", 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok"}`, ""},
		{"session body missing required fields", "GET", "/api/v1/session", 200, jsonHeader, `{"unexpected":true}`, "answer"},
		{"undocumented status", "GET", "/api/v1/session", 418, problem, `{"type":"x","title":"x","status":418,"detail":"x","code":"x"}`, "answer"},
		{"undocumented content type", "GET", "/api/v1/session", 200, http.Header{"Content-Type": {"text/xml"}}, `<x/>`, "answer"},
		{"accepted request with a body the document refuses", "POST", "/api/v1/sessions", 201, jsonHeader, `{}`, "request"},
		{"a path the document does not describe", "GET", "/no/such/path", 404, problem, `{}`, ""},
	} {
		reqHeader := http.Header{}
		var reqBody []byte
		if c.method == "POST" {
			reqHeader.Set("Content-Type", "application/json")
			reqBody = []byte(`{"email":42}`)
		}
		got := apptest.CheckContract(c.method, c.target, reqHeader, reqBody, c.status, c.header, []byte(c.body))
		switch {
		case c.wantProblem == "" && got != "":
			t.Errorf("%s: reported %s", c.name, got)
		case c.wantProblem != "" && !strings.Contains(got, c.wantProblem+":"):
			t.Errorf("%s: want a %s problem, got %q", c.name, c.wantProblem, got)
		}
	}
}

// A frozen clock moves only when the test moves it, and thawing goes on
// from where it stood, never back.
func TestClockFreezeAndThaw(t *testing.T) {
	var c apptest.Clock
	c.Freeze()
	a := c.Now()
	time.Sleep(20 * time.Millisecond)
	if b := c.Now(); !b.Equal(a) {
		t.Fatalf("frozen clock moved from %v to %v", a, b)
	}
	c.Advance(time.Minute)
	if b := c.Now(); !b.Equal(a.Add(time.Minute)) {
		t.Fatalf("advance while frozen: %v, want %v", b, a.Add(time.Minute))
	}
	c.Thaw()
	if b := c.Now(); b.Before(a.Add(time.Minute)) {
		t.Fatalf("thawed clock went back: %v < %v", b, a.Add(time.Minute))
	}
}
