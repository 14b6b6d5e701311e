package breach

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// ErrUnavailable is returned (wrapped) by a fail-closed RangeClient when
// the range API could not be asked or gave an unusable answer.
var ErrUnavailable = errors.New("breach: breached-password service unavailable")

// DefaultRangeTimeout bounds one RangeClient check when Timeout is zero.
const DefaultRangeTimeout = 2 * time.Second

// maxRangeBody bounds a range answer; real ones are 30–40 KB with padding.
const maxRangeBody = 2 << 20

// A RangeClient checks passwords against a Pwned Passwords k-anonymity
// range API: it sends GET {BaseURL}/range/{first 5 hex digits of the
// SHA-1} and looks for the other 35 digits among the "SUFFIX:COUNT" lines
// of the answer. The password and its full hash never leave the process.
// It is safe for concurrent use.
type RangeClient struct {
	BaseURL string        // e.g. "https://api.pwnedpasswords.com", no trailing slash needed
	Client  *http.Client  // nil: http.DefaultClient
	Timeout time.Duration // per check; zero: DefaultRangeTimeout
	// FailOpen makes a failed lookup count as "not breached" (with a
	// warning logged) instead of returning ErrUnavailable. SellerGuard
	// leaves it off and decides in the policy, which can then mark the
	// password for a check at the next sign-in.
	FailOpen bool
	// Padding sends "Add-Padding: true", so that the size of the answer
	// does not reveal the prefix; padding lines (count 0) are ignored.
	Padding   bool
	UserAgent string       // zero: "sellerguard"
	Logger    *slog.Logger // nil: slog.Default()
}

// Breached implements Checker. It checks the SHA-1 of pw's bytes and, if
// different, of its NFKC form.
func (c *RangeClient) Breached(ctx context.Context, pw string) (bool, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultRangeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	forms := []string{pw}
	if n := norm.NFKC.String(pw); n != pw {
		forms = append(forms, n)
	}
	for _, f := range forms {
		found, err := c.lookup(ctx, sha1.Sum([]byte(f)))
		if err != nil {
			return c.fail(err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

func (c *RangeClient) fail(err error) (bool, error) {
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if c.FailOpen {
		logger.Warn("breached-password check failed; accepting the password (fail open)", "err", err)
		return false, nil
	}
	// The caller decides what an unknown answer means (and logs it).
	return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (c *RangeClient) lookup(ctx context.Context, h [sha1.Size]byte) (bool, error) {
	hexHash := strings.ToUpper(hex.EncodeToString(h[:]))
	prefix, suffix := hexHash[:5], hexHash[5:]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/range/"+prefix, nil)
	if err != nil {
		return false, err
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "sellerguard"
	}
	req.Header.Set("User-Agent", ua)
	if c.Padding {
		req.Header.Set("Add-Padding", "true")
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, fmt.Errorf("range API answered %s", resp.Status)
	}
	found, lines, err := scanRange(io.LimitReader(resp.Body, maxRangeBody+1), suffix)
	if err != nil {
		return false, err
	}
	if lines == 0 {
		return false, errors.New("range API answered with no lines")
	}
	return found, nil
}

// scanRange reads "SUFFIX:COUNT" lines and reports whether suffix is
// among them with a count above zero.
func scanRange(r io.Reader, suffix string) (found bool, lines int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), 256)
	var read int
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		read += len(sc.Bytes()) + 1
		if read > maxRangeBody {
			return false, lines, errors.New("range answer too large")
		}
		if line == "" {
			continue
		}
		s, count, ok := strings.Cut(line, ":")
		if !ok || len(s) != 35 || count == "" || strings.Trim(count, "0123456789") != "" {
			return false, lines, fmt.Errorf("range answer line %d is malformed", lines+1)
		}
		lines++
		if strings.EqualFold(s, suffix) && strings.Trim(count, "0") != "" {
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return false, lines, err
	}
	return found, lines, nil
}
