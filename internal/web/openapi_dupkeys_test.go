package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sellerguard/sellerguard/api"
)

// TestOpenAPINoDuplicateKeys: encoding/json keeps the last of two equal keys
// without a word, so a text merge that repeats a response code would go
// unnoticed by every other test. A JSON object must not repeat a key.
func TestOpenAPINoDuplicateKeys(t *testing.T) {
	if err := duplicateKeys(api.Spec); err != nil {
		t.Fatal(err)
	}
	if err := duplicateKeys([]byte(`{"a":{"415":1,"500":2,"415":3}}`)); err == nil {
		t.Fatal("the check did not find a repeated key")
	}
}

func duplicateKeys(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					return fmt.Errorf("key %q repeated in %s", k, path)
				}
				seen[k] = true
				if err := walk(path + "." + k); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk("$")
}
