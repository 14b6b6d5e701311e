package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
)

// cmdLimits shows and resets guess counters: `limits list [--prefix P]` and
// `limits clear --account EMAIL`. There is deliberately no command that
// turns limiting off.
func cmdLimits(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "clear") {
		fmt.Fprintln(stderr, "usage: sellerguard limits list [--prefix P] | sellerguard limits clear --account EMAIL")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("sellerguard limits "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	prefix := fs.String("prefix", "", "only counters whose key starts with this (e.g. acct:alice@example.com, src:signin:)")
	account := fs.String("account", "", "email of the account whose counters to clear")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := finishConfig(cfg, envErr); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	if sub == "clear" && *account == "" {
		fmt.Fprintln(stderr, "sellerguard limits clear: --account EMAIL is required")
		return 2
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), versionString())
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = a.Close() }()
	if sub == "clear" {
		actor := cliActor()
		n, err := a.Session.ClearAccountLimits(ctx, *account, actor)
		if err != nil {
			fmt.Fprintln(stderr, "sellerguard:", err)
			return 1
		}
		fmt.Fprintf(stdout, "cleared %d counters and any unlock code of %s (audited)\n", n, *account)
		return 0
	}
	list, err := a.DB.ListCounters(ctx, *prefix, time.Now(), 1000)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tCOUNT\tSINCE\tLAST\tLAST FROM\tEXPIRES")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", c.Key, c.Count, c.FirstAt.Format(time.RFC3339), c.LastAt.Format(time.RFC3339), c.LastIP, c.ExpiresAt.Format(time.RFC3339))
	}
	_ = tw.Flush()
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no live counters")
	}
	return 0
}

// cliActor names who runs a command, for the audit log: the operating
// system user when known.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}
