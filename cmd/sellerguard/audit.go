package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sellerguard/sellerguard/internal/audit"
)

const auditUsage = `usage:
  sellerguard audit verify [--business ID]   check the hash chains (all, or one business's chain)
  sellerguard audit export [--business ID]   write the log (or one business's chain) as CSV to standard output
`

// cmdAudit runs "sellerguard audit verify|export".
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return cmdAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "export":
		return cmdAuditExport(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "sellerguard audit: unknown command %q\n%s", args[0], auditUsage)
	return 2
}

// cmdAuditVerify exits 0 when every audit chain (or the one business's
// chain) is intact, 1 naming the first bad event otherwise, 2 on a usage
// or connection problem or an unknown business.
func cmdAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var business string
	cfg, rest, err := loadSubConfig("audit verify", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&business, "business", "", "verify only this business's chain (its id, biz_…)")
	})
	if code, ok := subConfigCode(err, rest, "audit verify", stderr); !ok {
		return code
	}
	db, _, err := openDB(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2
	}
	defer func() { _ = db.Close() }()
	var rep audit.Report
	if business != "" {
		rep, err = audit.VerifyChain(ctx, db, audit.ChainOf(business, ""))
	} else {
		rep, err = audit.Verify(ctx, db)
	}
	var p *audit.Problem
	switch {
	case errors.As(err, &p):
		fmt.Fprintln(stdout, "FAILED:", p.Error())
		return 1
	case errors.Is(err, audit.ErrNoChain):
		fmt.Fprintf(stderr, "sellerguard: the audit log has no chain for business %q\n", business)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2
	}
	fmt.Fprintf(stdout, "ok: %d events in %d chains verified\n", rep.Events, rep.Chains)
	return 0
}

// cmdAuditExport writes the audit log as CSV (the columns of the page's
// export, ordered by chain and sequence) to standard output, streaming.
func cmdAuditExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var business string
	cfg, rest, err := loadSubConfig("audit export", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&business, "business", "", "export only this business's chain (its id, biz_…)")
	})
	if code, ok := subConfigCode(err, rest, "audit export", stderr); !ok {
		return code
	}
	db, _, err := openDB(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2
	}
	defer func() { _ = db.Close() }()
	chain := ""
	if business != "" {
		chain = audit.ChainOf(business, "")
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	n, err := audit.ExportCSV(ctx, db, chain, w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	fmt.Fprintf(stderr, "exported %d events\n", n)
	return 0
}

// subConfigCode turns loadSubConfig's outcome into an exit code (ok: go on).
func subConfigCode(err error, rest []string, name string, stderr io.Writer) (int, bool) {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0, false
	case errors.Is(err, errUsage):
		return 2, false
	case err != nil:
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2, false
	case len(rest) > 0:
		fmt.Fprintf(stderr, "sellerguard %s: unexpected argument %q\n", name, rest[0])
		return 2, false
	}
	return 0, true
}
