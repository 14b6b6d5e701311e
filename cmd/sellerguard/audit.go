package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sellerguard/sellerguard/internal/audit"
)

// cmdAuditVerify exits 0 when every audit chain is intact, 1 naming the
// first bad event otherwise, 2 on a usage or connection problem.
func cmdAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig("audit verify", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "sellerguard:", err)
		}
		return 2
	}
	db, _, err := openDB(ctx, cfg, false)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2
	}
	defer func() { _ = db.Close() }()
	rep, err := audit.Verify(ctx, db)
	var p *audit.Problem
	switch {
	case errors.As(err, &p):
		fmt.Fprintln(stdout, "FAILED:", p.Error())
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 2
	}
	fmt.Fprintf(stdout, "ok: %d events in %d chains verified\n", rep.Events, rep.Chains)
	return 0
}
