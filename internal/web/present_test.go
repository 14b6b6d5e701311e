package web

import (
	"encoding/json"
	"testing"
)

func TestChangesOfPairsBeforeAndAfter(t *testing.T) {
	t.Parallel()
	got := changesOf(json.RawMessage(`{"price":10,"title":"Lamp"}`), json.RawMessage(`{"price":12,"title":"Lamp","on_sale":true}`))
	want := []change{{"on sale", "", "yes"}, {"price", "10", "12"}, {"title", "Lamp", "Lamp"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(changesOf(json.RawMessage(`not json`), json.RawMessage(`{}`))) != 0 {
		t.Error("garbage produced changes")
	}
}

func TestDescribeUserAgent(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36":                         "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120":       "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:121.0) Gecko/20100101 Firefox/121.0":                                       "Firefox on macOS",
		"curl/8.5.0":         "curl/8.5.0",
		"Go-http-client/1.1": "Go-http-client/1.1",
		"":                   "Unknown",
	} {
		if got := describeUserAgent(ua); got != want {
			t.Errorf("%q: got %q, want %q", ua, got, want)
		}
	}
}
