// Command sellerguard runs and administers SellerGuard.
//
//	sellerguard serve          run the web UI, the JSON API and the workers
//	sellerguard migrate        apply database migrations
//	sellerguard backup FILE    snapshot the SQLite database (and its key) while serving
//	sellerguard restore FILE   restore a backup into a new data directory
//	sellerguard healthcheck    ask the running server's /healthz
//	sellerguard audit verify   check the audit log's hash chains (--business ID: one business's)
//	sellerguard audit export   write the audit log as CSV to standard output
//	sellerguard limits …       show or reset guess counters
//	sellerguard dkim keygen     create a DKIM key and print its DNS TXT record
//	sellerguard keys rotate     re-seal sealed data under a new instance key
//	sellerguard version        print the version
//	sellerguard help           this text
//
// Settings come from flags and SELLERGUARD_* environment variables; nothing is
// required for a local start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/sellerguard/sellerguard/internal/config"
)

// Release builds stamp these with -ldflags "-X main.version=… -X
// main.commit=… -X main.date=…" (scripts/release.sh). Without them the
// version comes from the module (go install …@v1.2.3) and the commit and
// date from the VCS information go build records.
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// config.Environ is os.Getenv, except that SELLERGUARD_METRICS_ADDR set
	// to the empty string means "no metrics listener".
	os.Exit(run(ctx, os.Args[1:], config.Environ(os.LookupEnv), os.Stdout, os.Stderr))
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args[1:], getenv, stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		err = cmdHealthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, args[1:], getenv, stdout, stderr)
	case "limits":
		return cmdLimits(ctx, args[1:], getenv, stdout, stderr)
	case "dkim":
		return cmdDKIM(ctx, args[1:], getenv, stdout, stderr)
	case "password":
		return cmdPassword(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	case "breach":
		return cmdBreach(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	case "users":
		return cmdUsers(ctx, args[1:], getenv, stdout, stderr)
	case "phishing":
		return cmdPhishing(ctx, args[1:], getenv, stdout, stderr)
	case "agents":
		return cmdAgents(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "help", "--help", "-help", "-h":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sellerguard: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `SellerGuard keeps marketplace seller accounts safe.

Usage:
  sellerguard serve          run the web UI, the JSON API and the workers
  sellerguard migrate        apply database migrations and exit
  sellerguard backup [--key-out K] FILE
                             write a consistent, verified snapshot of the SQLite database to FILE while
                             serve runs, and the key file to FILE.key (0600); PostgreSQL: use pg_dump
  sellerguard restore [--key K] --data-dir NEW FILE
                             restore a backup into a new data directory (never over an existing
                             database) and verify its audit log
  sellerguard healthcheck    ask the running server's /healthz (for container health checks)
  sellerguard audit verify [--business ID]
                             check that the audit log (or one business's chain) is intact (exit 0)
                             or name the first bad event (exit 1)
  sellerguard audit export [--business ID]
                             write the audit log (or one business's chain) as CSV to standard output,
                             streaming (constant memory whatever its size)
  sellerguard limits list [--prefix P]
                             show guess counters (failed sign-ins per account and per address)
  sellerguard limits clear --account EMAIL
                             reset an account's counters and unlock code (audited)
  sellerguard password check [--email E] [--phone P] [--name N] [--business B]
                             read passwords (one per line) on stdin, print ok or rejected: CODES; exit 1 if any is refused
  sellerguard password calibrate
                             pick Argon2id parameters for a target time on this machine
  sellerguard password require-change --account EMAIL
                             make a user change their password at the next sign-in (audited)
  sellerguard breach import FILE
                             build the breached-password index from a Pwned Passwords SHA-1 file
  sellerguard users import FILE
                             load users (with bcrypt or Argon2 hashes) from a CSV or JSON export
  sellerguard dkim keygen [--selector S] [--domain D] [--out FILE] [--algorithm rsa|ed25519] [--force]
                             create a DKIM signing key (mode 0600) and print the DNS TXT record to publish
  sellerguard dkim record    print the DNS TXT record of the configured key
  sellerguard phishing list [--limit N] [--json]
                             list the phishing report queue, newest first
  sellerguard phishing show ID [--raw]
                             show one report with its analysis (--raw: the reported message, while kept)
  sellerguard agents add --email E --role agent|supervisor
                             create a Seller Support agent and print its single-use enrolment code
  sellerguard keys rotate [--batch-size N] [--batch-pause D]
                             add a new instance key and re-seal every sealed value under it (resumable, audited)
  sellerguard keys status    list the key versions and the rotations with their progress
  sellerguard version        print the version
  sellerguard help           show this help

Run "sellerguard serve -h" for every setting. Each flag has an environment
variable (SELLERGUARD_ADDR for --addr, and so on); nothing is required for a
local start: "sellerguard serve" listens on 127.0.0.1:8080 with SQLite in
./sellerguard-data and keeps outgoing messages in the local outbox.
`)
}

// buildInfo returns the version, commit and build date of this binary.
func buildInfo() (ver, rev, built string) {
	ver, rev, built = version, commit, date
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orDefault(ver, "dev"), orDefault(rev, "unknown"), orDefault(built, "unknown")
	}
	dirty := false
	var vcsRev, vcsTime string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			vcsRev = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" && vcsRev != "" {
		rev = vcsRev
		if dirty {
			rev += "+dirty"
		}
	}
	if built == "" {
		built = vcsTime // the commit's time: the best a plain go build knows
	}
	if ver == "" {
		switch {
		case bi.Main.Version != "" && bi.Main.Version != "(devel)":
			ver = bi.Main.Version // go install …@version
		case vcsRev != "":
			short := vcsRev
			if len(short) > 12 {
				short = short[:12]
			}
			ver = "dev-" + short
			if dirty {
				ver += "+dirty"
			}
		}
	}
	return orDefault(ver, "dev"), orDefault(rev, "unknown"), orDefault(built, "unknown")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// versionString is the short version (start-up line, /healthz).
func versionString() string {
	v, _, _ := buildInfo()
	return v
}

// versionLine is what `sellerguard version` prints.
func versionLine() string {
	v, rev, built := buildInfo()
	return fmt.Sprintf("sellerguard %s (commit %s, built %s, %s %s/%s)", v, rev, built, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
