package policy

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard/internal/password"
)

var defaultPlatformWords = []string{"sellerguard", "seller", "marketplace"}

func newTestPolicy(t testing.TB, opts Options, bc BreachChecker) *Policy {
	t.Helper()
	cl, err := DefaultCommonList()
	if err != nil {
		t.Fatal(err)
	}
	if opts.MinScore == 0 {
		opts.MinScore = DefaultMinScore
	}
	if opts.PlatformWords == nil {
		opts.PlatformWords = defaultPlatformWords
	}
	return New(opts, cl, bc)
}

func codes(rs []Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

type fakeBreach struct {
	breached map[string]bool
	err      error
	calls    int
}

func (f *fakeBreach) Breached(_ context.Context, pw string) (bool, error) {
	f.calls++
	return f.breached[pw], f.err
}

func TestEveryReason(t *testing.T) {
	ctx := context.Background()
	facts := Context{
		Email:         "jane.doe+shop@acme-widgets.example",
		Names:         []string{"Jane Doe"},
		BusinessNames: []string{"Blue Heron Crafts Ltd"},
		StoreNames:    []string{"HeronHouse"},
		Phone:         "+1 (555) 123-4567",
	}
	breached := &fakeBreach{breached: map[string]bool{"violet-otter-lantern-42": true}}
	for _, tc := range []struct {
		name   string
		opts   Options
		bc     BreachChecker
		pw     string
		want   string
		only   bool // the only reason
		noneOf []string
	}{
		{name: "short", pw: "Vq7#kLm2", want: CodeTooShort},
		{name: "too long", pw: strings.Repeat("a", password.MaxBytes+1), want: CodeTooLong, only: true},
		{name: "invalid utf-8", pw: "valid-start-\xff\xfe-end-", want: CodeInvalidEncoding, only: true},
		{name: "control character", pw: "tab\tinside-a-long-password", want: CodeInvalidEncoding, only: true},
		{name: "common", pw: "Password2024!", want: CodeCommon},
		{name: "common leet", pw: "P@ssw0rd12345", want: CodeCommon},
		{name: "email local part", pw: "janedoe-Vortex-Quill", want: CodeContainsEmail},
		{name: "email domain", pw: "Quill-ACMEwidgets-Vortex", want: CodeContainsEmail},
		{name: "name", pw: "Kettle!Doe-Marble-92", want: CodeContainsName},
		{name: "business", pw: "BlueHeronCrafts2024", want: CodeContainsBusiness},
		{name: "business word", pw: "glassy-heron-teapot-77", want: CodeContainsBusiness},
		{name: "store", pw: "h3r0nh0use-glassy-teapot", want: CodeContainsBusiness},
		{name: "phone", pw: "glacier-5551234567-fox", want: CodeContainsPhone},
		{name: "phone formatted", pw: "glacier (555) 123-4567 fox", want: CodeContainsPhone},
		{name: "phone four digits", pw: "glacier-fox-lantern-4567", want: CodeContainsPhone},
		{name: "platform word", pw: "MySellerGuardRocks!42", want: CodeContainsPlatformWords},
		{name: "weak", pw: "michaelmichael", want: CodeTooWeak},
		{name: "strict variety", opts: Options{Strict: true}, pw: "correct horse battery staple", want: CodeNeedsVariety},
		{name: "breached", bc: breached, pw: "violet-otter-lantern-42", want: CodeBreached},
		{name: "breach check down", bc: &fakeBreach{err: errors.New("down")}, pw: "violet-otter-lantern-43", want: CodeBreachUnavailable},
		{name: "short name not in word", pw: "sleepless-otter-lantern-91", noneOf: []string{CodeContainsName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := facts
			if tc.name == "short name not in word" {
				c = Context{Names: []string{"Lee"}}
			}
			p := newTestPolicy(t, tc.opts, tc.bc)
			rs := p.Check(ctx, tc.pw, c)
			got := codes(rs)
			if tc.want != "" && !slices.Contains(got, tc.want) {
				t.Fatalf("Check = %v, want %s among them", got, tc.want)
			}
			if tc.only && len(got) != 1 {
				t.Fatalf("Check = %v, want only %s", got, tc.want)
			}
			for _, n := range tc.noneOf {
				if slices.Contains(got, n) {
					t.Fatalf("Check = %v, want no %s", got, n)
				}
			}
			for _, r := range rs {
				if r.Message == "" || (len(tc.pw) >= 4 && strings.Contains(strings.ToLower(r.Message), strings.ToLower(tc.pw))) {
					t.Errorf("reason %s: bad message %q", r.Code, r.Message)
				}
			}
		})
	}
	if CodeReused != "reused" || MessageReused == "" {
		t.Error("reuse reason missing")
	}
}

func TestAcceptedWithFacts(t *testing.T) {
	p := newTestPolicy(t, Options{}, nil)
	c := Context{Email: "jane.doe@acme.example", Names: []string{"Jane Doe"}, BusinessNames: []string{"Acme"}, Phone: "555 123 4567"}
	for _, pw := range []string{"violet-otter-lantern-42", "Tr0ub4dor&33x", "correct horse battery staple"} {
		if rs := p.Check(context.Background(), pw, c); rs != nil {
			t.Errorf("Check(%q) = %v, want accepted", pw, codes(rs))
		}
	}
}

// readList reads a password list, skipping John the Ripper's comments.
func readList(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if s != "" && !strings.HasPrefix(s, "#!comment") {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A public list that SellerGuard does not ship (John the Ripper's
// password.lst, Openwall, public domain; see testdata/README.md) is refused:
// with the minimum length at 8, every entry of 8 or more characters; with
// the default minimum, every entry with a capital letter and a year, or
// "!", appended. Some of its entries are not in the shipped list at all,
// so this also exercises the decoration, leetspeak and strength checks.
func TestUnshippedCommonList(t *testing.T) {
	list := readList(t, "testdata/john-password.lst")
	if len(list) < 3000 {
		t.Fatalf("list has %d entries", len(list))
	}
	cl, err := DefaultCommonList()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	notShipped := 0
	for _, e := range list {
		if !cl.Contains(strings.ToLower(e)) {
			notShipped++
		}
	}
	t.Logf("%d of %d entries are not in the shipped list as such", notShipped, len(list))

	p8 := newTestPolicy(t, Options{MinLength: 8}, nil)
	n8 := 0
	for _, e := range list {
		if utf8.RuneCountInString(e) < 8 {
			continue
		}
		n8++
		if rs := p8.Check(ctx, e, Context{}); rs == nil {
			t.Errorf("min length 8: %q accepted", e)
		}
	}
	pDefault := newTestPolicy(t, Options{}, nil)
	byLength, missed := 0, 0
	for _, e := range list {
		r, size := utf8.DecodeRuneInString(e)
		capital := string(unicode.ToUpper(r)) + e[size:]
		for _, d := range []string{capital + "2024", capital + "!"} {
			rs := pDefault.Check(ctx, d, Context{})
			if rs == nil {
				t.Errorf("default minimum: %q accepted", d)
				continue
			}
			if !slices.Contains(codes(rs), CodeTooShort) {
				continue
			}
			byLength++
			// Short ones must be refused for their content too when the
			// minimum is lowered to 8.
			// (Not required by the issue; a few are allowed. Skipped under
			// the race detector, which makes zxcvbn ten times slower.)
			if !raceEnabled && utf8.RuneCountInString(d) >= 8 && len(codes(p8.Check(ctx, d, Context{}))) == 0 {
				missed++
				t.Logf("min length 8: decorated %q accepted", d)
			}
		}
	}
	t.Logf("%d entries of 8+ characters refused at min length 8; %d decorated forms were also too short at the default minimum, of which %d were accepted at min length 8", n8, byLength, missed)
	if missed > byLength/100 {
		t.Errorf("min length 8: %d of %d decorated forms accepted", missed, byLength)
	}
}

func TestRandomPasswordsAndPassphraseAccepted(t *testing.T) {
	p := newTestPolicy(t, Options{}, nil)
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	if len(alphabet) != 94 {
		t.Fatalf("alphabet has %d characters", len(alphabet))
	}
	ctx := context.Background()
	n := 1000
	if testing.Short() {
		n = 100
	}
	for range n {
		b := make([]byte, 16)
		for i := range b {
			b[i] = alphabet[randIntn(94)]
		}
		if rs := p.Check(ctx, string(b), Context{}); rs != nil {
			t.Errorf("random %q refused: %v", b, codes(rs))
		}
	}
	// Random passwords an earlier rule refused (about 1 in 75 000): their
	// ends were stripped as decorations and the middle, half of it a word
	// ("bi+e", "thz"), was scored alone.
	for _, pw := range []string{"(+#42\"/zvBi+e40|", "'!/ThZ.-j_RUPP)%", "9$]3e^E^7&-U|:.0", "33-G5}fu73RRY_]&", "4(94(5=/AE_5ON6s"} {
		if rs := p.Check(ctx, pw, Context{}); rs != nil {
			t.Errorf("random %q refused: %v", pw, codes(rs))
		}
	}
	phrase := "the quiet otter paints violet lanterns beside a frozen harbour while seven owls hum softly at dawn!!"
	if utf8.RuneCountInString(phrase) != 100 {
		t.Fatalf("passphrase has %d characters", utf8.RuneCountInString(phrase))
	}
	if rs := p.Check(ctx, phrase, Context{}); rs != nil {
		t.Errorf("passphrase refused: %v", codes(rs))
	}
	long := strings.Repeat("Ω", 128) // 128 characters, 256 bytes
	if rs := p.Check(ctx, long+"-otter-lantern", Context{}); slices.Contains(codes(rs), CodeTooLong) {
		t.Errorf("128 characters refused as too long")
	}
}

func randIntn(n int) int {
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}

// A 10 MB password is refused as too long before any other work: the
// breach checker (standing in for any expensive step) is never called.
func TestHugePasswordRefusedAtOnce(t *testing.T) {
	fb := &fakeBreach{}
	p := newTestPolicy(t, Options{}, fb)
	rs := p.Check(context.Background(), strings.Repeat("x", 10<<20), Context{Email: "a@b.example"})
	if len(rs) != 1 || rs[0].Code != CodeTooLong {
		t.Fatalf("Check = %v, want [too_long]", codes(rs))
	}
	if fb.calls != 0 {
		t.Fatalf("breach checker called %d times", fb.calls)
	}
	if s := p.Score(strings.Repeat("x", 10<<20), Context{}); s != 0 {
		t.Fatalf("Score = %d", s)
	}
}

func TestNFKC(t *testing.T) {
	p := newTestPolicy(t, Options{}, nil)
	ctx := context.Background()
	composed := strings.Repeat("é", 11) + "q"         // 12 code points
	decomposed := strings.Repeat("e\u0301", 11) + "q" // 23 code points before NFKC, 12 after
	for _, pw := range []string{composed, decomposed} {
		got := codes(p.Check(ctx, pw, Context{}))
		if slices.Contains(got, CodeTooShort) {
			t.Errorf("%q: %v; 12 characters after NFKC are enough", pw, got)
		}
	}
	decomposedShort := strings.Repeat("e\u0301", 6) // 12 code points raw, 6 after NFKC
	if got := codes(p.Check(ctx, decomposedShort, Context{})); !slices.Contains(got, CodeTooShort) {
		t.Errorf("decomposed short: %v, want too_short", got)
	}
	if got := codes(p.Check(ctx, "Ｐａｓｓｗｏｒｄ２０２４", Context{})); !slices.Contains(got, CodeCommon) {
		t.Errorf("fullwidth Password2024: %v, want common", got)
	}
}

func TestScoreAndTips(t *testing.T) {
	p := newTestPolicy(t, Options{}, nil)
	if s := p.Score("password", Context{}); s != 0 {
		t.Errorf("Score(password) = %d", s)
	}
	if s := p.Score("violet-otter-lantern-42", Context{}); s != 4 {
		t.Errorf("Score(passphrase) = %d", s)
	}
	if s := p.Score("violet-otter-lantern-42", Context{Names: []string{"Violet"}}); s != 0 {
		t.Errorf("Score with name = %d", s)
	}
	if tips := Tips("abcdefgh"); len(tips) != 4 {
		t.Errorf("Tips(abcdefgh) = %q", tips)
	}
	if tips := Tips("Violet-Otter-Lantern-42"); len(tips) != 0 {
		t.Errorf("Tips(strong) = %q", tips)
	}
}

func TestOptionsFloor(t *testing.T) {
	if got := New(Options{MinLength: 4}, nil, nil).Options().MinLength; got != FloorMinLength {
		t.Errorf("MinLength 4 became %d", got)
	}
	if got := New(Options{}, nil, nil).Options().MinLength; got != DefaultMinLength {
		t.Errorf("MinLength 0 became %d", got)
	}
}

func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // must be among the variants
	}{
		{"Password2024!", "password"},
		{"P@ssw0rd", "password"},
		{"p4ssw0rd1!", "password"},
		{"$ecret123", "secret"},
		{"!!sonja!!", "sonja"},
		{"2024dragon", "dragon"},
		{"monkey123456789", "monkey"},
		{"1loveyou", "iloveyou"},
		{"summer1", "summer"},
	} {
		if v := Variants(tc.in); !slices.Contains(v, tc.want) {
			t.Errorf("Variants(%q) = %q, want %q among them", tc.in, v, tc.want)
		}
	}
	for _, tc := range []struct{ in, not string }{
		{"a93847261", "a"},           // too short a core
		{"monkey93847261", "monkey"}, // eight random digits are no usual decoration
		{"dragon!!!!!", "dragon"},    // nor five symbols
	} {
		if v := Variants(tc.in); slices.Contains(v, tc.not) {
			t.Errorf("Variants(%q) = %q, want no %q", tc.in, v, tc.not)
		}
	}
}

func TestCommonList(t *testing.T) {
	l, err := ReadCommonList(strings.NewReader("#!comment: x\nZebra\r\napple\n\napple\nmango\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d", l.Len())
	}
	for _, s := range []string{"apple", "mango", "zebra"} {
		if !l.Contains(s) {
			t.Errorf("missing %q", s)
		}
	}
	for _, s := range []string{"", "appl", "apples", "Zebra", "zzz", "a"} {
		if l.Contains(s) {
			t.Errorf("contains %q", s)
		}
	}
	if _, err := ReadCommonList(strings.NewReader(strings.Repeat("x", 300))); err == nil {
		t.Error("over-long entry accepted")
	}

	d, err := DefaultCommonList()
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 864601 { // data/SOURCE.md
		t.Fatalf("shipped list has %d entries, want the 864,601 of data/SOURCE.md", d.Len())
	}
	// Every entry is found, through the front-coded blocks.
	var prev string
	n := 0
	d.Entries(func(s string) bool {
		if s <= prev && n > 0 {
			t.Fatalf("entries out of order: %q after %q", s, prev)
		}
		if n%97 == 0 && !d.Contains(s) {
			t.Fatalf("Contains(%q) = false", s)
		}
		prev = s
		n++
		return true
	})
	if n != d.Len() {
		t.Fatalf("Entries gave %d, Len %d", n, d.Len())
	}
	p := New(Options{}, d, nil)
	for _, s := range []string{"123456", "password", "qwerty", "iloveyou", "dragon", "trustno1", "sunshine"} {
		if !p.isCommon(s) {
			t.Errorf("shipped list lacks %q", s)
		}
	}
}

// Chinese-only passwords: zxcvbn (trustelem) measures them by characters
// (runes), not bytes, but knows no Chinese words, repeats or sequences in
// them, so every character counts as ten guesses. The policy counts the
// minimum length in characters too, and scores a repeated unit as the
// unit: a Chinese password of twelve distinct characters passes, one
// character or one word repeated does not.
func TestChinesePasswords(t *testing.T) {
	t.Parallel()
	p := newTestPolicy(t, Options{}, nil)
	ctx := context.Background()
	for pw, want := range map[string][]string{
		"我的店铺很安全":          {CodeTooShort, CodeTooWeak}, // 7 characters (21 bytes): 10^7 guesses
		"嬲鬯龘犇鱻麤靐齉":         {CodeTooShort, CodeTooWeak}, // 8 random characters: 10^8 guesses
		"我我我我我我我我我我我我":     {CodeTooWeak},               // one character twelve times
		"密码密码密码密码密码密码":     {CodeTooWeak},               // one word six times
		"我的店铺很安全我的店铺很安全":   {CodeTooWeak},               // one phrase twice
		"我的店铺在杭州卖茶叶和瓷器已十年": nil,                         // 16 characters, no repetition
		"abcabcabcabc": {CodeTooWeak}, // ASCII repeats: zxcvbn's own rule
	} {
		if got := codes(p.Check(ctx, pw, Context{})); !slices.Equal(got, want) {
			t.Errorf("Check(%q) = %v, want %v", pw, got, want)
		}
	}
	if s := p.Score("我我我我我我我我我我我我", Context{}); s > 1 {
		t.Errorf("Score of one character repeated = %d", s)
	}
}

// Chinese number sequences: counting in Chinese numerals (plain or
// financial forms), in full-width digits, or with a few words around it,
// is as weak as "123456789012" — never strong — while a long Chinese
// sentence that happens to hold a numeral still is.
func TestChineseNumberSequencesAreWeak(t *testing.T) {
	t.Parallel()
	p := newTestPolicy(t, Options{}, nil)
	ctx := context.Background()
	for _, pw := range []string{
		"一二三四五六七八九十百千",
		"零一二三四五六七八九零一",
		"壹贰叁肆伍陆柒捌玖拾佰仟",
		"１２３４５６７８９０１２", // full-width digits (NFKC: ASCII)
		"一二三四一二三四一二三四",
		"我的密码是一二三四五六七八",
		"一二三四五六七八九十一二三四五六七八九十",
	} {
		if s := p.Score(pw, Context{}); s >= 3 {
			t.Errorf("Score(%q) = %d: a Chinese number sequence scores strong", pw, s)
		}
		if got := codes(p.Check(ctx, pw, Context{})); !slices.Contains(got, CodeTooWeak) {
			t.Errorf("Check(%q) = %v: want %s", pw, got, CodeTooWeak)
		}
	}
	if got := codes(p.Check(ctx, "我的店铺在杭州卖茶叶和瓷器已十年", Context{})); got != nil {
		t.Errorf("a sentence with one numeral: %v", got)
	}
}
