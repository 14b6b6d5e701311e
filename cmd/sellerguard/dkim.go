package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/dkim"
)

const dkimUsage = `usage:
  sellerguard dkim keygen [--selector S] [--domain D] [--out FILE] [--algorithm rsa|ed25519] [--force] [flags]
      creates a DKIM signing key (written with mode 0600; an existing file is
      only replaced with --force) and prints the DNS TXT record to publish.
      Defaults: --selector $SELLERGUARD_DKIM_SELECTOR (sellerguard),
      --domain $SELLERGUARD_DKIM_DOMAIN (the domain of $SELLERGUARD_MAIL_FROM),
      --out $SELLERGUARD_DKIM_KEY_FILE, else DATA_DIR/dkim.key,
      --algorithm rsa (2048 bits; ed25519 is smaller but not every receiver checks it)
  sellerguard dkim record [--selector S] [--domain D] [--key FILE] [flags]
      prints the DNS TXT record of an existing key (same defaults; --key like --out)
`

// cmdDKIM runs `sellerguard dkim keygen|record`. Exit status: 0 done,
// 1 failed, 2 usage error.
func cmdDKIM(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, dkimUsage)
		return 2
	}
	switch args[0] {
	case "keygen":
		return dkimKeygen(args[1:], getenv, stdout, stderr)
	case "record":
		return dkimRecord(args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, dkimUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "sellerguard dkim: unknown subcommand %q\n\n%s", args[0], dkimUsage)
		return 2
	}
}

// dkimFlags holds what keygen and record share.
type dkimFlags struct {
	selector, domain, file string
}

// parseDKIMFlags parses the shared settings plus the subcommand's flags.
// code is -1 when parsing succeeded, else the exit status to return.
func parseDKIMFlags(sub string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet, *dkimFlags)) (cfg *config.Config, f *dkimFlags, code int) {
	fset := flag.NewFlagSet("sellerguard dkim "+sub, flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfg, _, envErr := config.Register(fset, getenv)
	f = &dkimFlags{}
	fset.StringVar(&f.selector, "selector", "", "DKIM selector (default $SELLERGUARD_DKIM_SELECTOR)")
	fset.StringVar(&f.domain, "domain", "", "signing domain (default $SELLERGUARD_DKIM_DOMAIN, else the domain of the From address)")
	extra(fset, f)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, 0
		}
		return nil, nil, 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "sellerguard dkim %s: unexpected argument %q\n\n%s", sub, fset.Arg(0), dkimUsage)
		return nil, nil, 2
	}
	if err := finishConfig(cfg, envErr); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return nil, nil, 1
	}
	if f.selector == "" {
		f.selector = cfg.DKIM.Selector
	}
	if f.domain == "" {
		f.domain = cfg.DKIM.Domain
	}
	f.domain = strings.ToLower(strings.TrimSuffix(f.domain, "."))
	if f.domain == "" {
		fmt.Fprintln(stderr, "sellerguard dkim: no signing domain: pass --domain or set SELLERGUARD_DKIM_DOMAIN")
		return nil, nil, 2
	}
	if err := dkim.CheckSelector(f.selector); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return nil, nil, 2
	}
	if err := dkim.CheckDomain(f.domain); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return nil, nil, 2
	}
	if f.file == "" {
		f.file = cfg.DKIM.KeyFile
	}
	if f.file == "" {
		f.file = filepath.Join(cfg.DataDir, "dkim.key")
	}
	return cfg, f, -1
}

func dkimKeygen(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var alg string
	var force bool
	_, f, code := parseDKIMFlags("keygen", args, getenv, stderr, func(fset *flag.FlagSet, f *dkimFlags) {
		fset.StringVar(&f.file, "out", "", "file to write the private key to (default $SELLERGUARD_DKIM_KEY_FILE, else DATA_DIR/dkim.key)")
		fset.StringVar(&alg, "algorithm", dkim.AlgorithmRSA, "key algorithm: rsa (2048 bits) or ed25519")
		fset.BoolVar(&force, "force", false, "replace an existing key file (mail signed with the old key stops verifying once its DNS record is replaced)")
	})
	if code >= 0 {
		return code
	}
	alg = strings.ToLower(alg)
	if alg != dkim.AlgorithmRSA && alg != dkim.AlgorithmEd25519 {
		fmt.Fprintf(stderr, "sellerguard dkim keygen: --algorithm must be %s or %s, not %q\n", dkim.AlgorithmRSA, dkim.AlgorithmEd25519, alg)
		return 2
	}
	if _, err := os.Lstat(f.file); err == nil && !force {
		fmt.Fprintf(stderr, "sellerguard dkim keygen: %s already exists; not replacing a key whose DNS record may be in use (pass --force to replace it)\n", f.file)
		return 1
	}
	pemBytes, txt, err := dkim.GenerateKey(alg)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	if err := writeKeyFile(f.file, pemBytes, force); err != nil {
		fmt.Fprintln(stderr, "sellerguard dkim keygen:", err)
		return 1
	}
	path := f.file
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	kind := "RSA-2048"
	if alg == dkim.AlgorithmEd25519 {
		kind = "Ed25519"
	}
	fmt.Fprintln(stdout, dkim.ZoneLine(f.selector, f.domain, txt))
	fmt.Fprintf(stdout, "; Publish this TXT record in the DNS of %s, then sign outgoing mail with the new %s key (written to %s, mode 0600) by setting SELLERGUARD_DKIM_KEY_FILE=%s SELLERGUARD_DKIM_SELECTOR=%s SELLERGUARD_DKIM_DOMAIN=%s\n",
		f.domain, kind, path, path, f.selector, f.domain)
	return 0
}

func dkimRecord(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	_, f, code := parseDKIMFlags("record", args, getenv, stderr, func(fset *flag.FlagSet, f *dkimFlags) {
		fset.StringVar(&f.file, "key", "", "private key file (default $SELLERGUARD_DKIM_KEY_FILE, else DATA_DIR/dkim.key)")
	})
	if code >= 0 {
		return code
	}
	s, err := dkim.LoadSigner(f.file, f.domain, f.selector)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	fmt.Fprintln(stdout, dkim.ZoneLine(s.Selector(), s.Domain(), s.TXTRecord()))
	fmt.Fprintf(stdout, "; The DNS of %s must serve exactly this TXT record for mail signed with %s to verify.\n", s.Domain(), f.file)
	return 0
}

// writeKeyFile writes a private key with mode 0600, creating the directory
// (0700) if needed. Without force it never replaces an existing file
// (O_EXCL); with force it replaces it atomically.
func writeKeyFile(path string, data []byte, force bool) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var f *os.File
	if force {
		f, err = os.CreateTemp(dir, ".dkim-key-*")
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; pass --force to replace it", path)
		}
	}
	if err != nil {
		return err
	}
	name := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(name)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if force {
		if err = os.Rename(name, path); err != nil {
			return err
		}
	}
	return nil
}
