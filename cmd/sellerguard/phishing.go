package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/store"
)

// cmdPhishing shows the phishing report queue until the support console
// has it: `phishing list [--limit N] [--json]` and `phishing show ID`.
func cmdPhishing(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const usageLine = "usage: sellerguard phishing list [--limit N] [--json] | sellerguard phishing show ID [--raw]"
	if len(args) == 0 || (args[0] != "list" && args[0] != "show") {
		fmt.Fprintln(stderr, usageLine)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("sellerguard phishing "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	limit := fs.Int("limit", 50, "how many reports to list, newest first (1–1000)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	raw := fs.Bool("raw", false, "show: print the reported message as received (while it is kept)")
	rest := args[1:]
	id := ""
	if sub == "show" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if sub == "show" && id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if (sub == "show" && id == "") || *limit < 1 || *limit > 1000 {
		fmt.Fprintln(stderr, usageLine)
		return 2
	}
	if err := finishConfig(cfg, envErr); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), versionString())
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = a.Close() }()
	if sub == "show" {
		r, err := a.DB.GetPhishingReport(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stderr, "sellerguard: no phishing report %s\n", id)
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, "sellerguard:", err)
			return 1
		}
		if *raw {
			if r.Raw == nil {
				fmt.Fprintf(stderr, "sellerguard: the message of %s is no longer kept (only its SHA-256 %s)\n", id, r.RawSHA256)
				return 1
			}
			_, _ = stdout.Write(r.Raw) // stdout
			return 0
		}
		fmt.Fprintf(stdout, "id:          %s\nsource:      %s\nkind:        %s\nreceived:    %s\nreporter:    %s %s (from %s)\nverdict:     %s (score %d)\n",
			r.ID, r.Source, r.Kind, r.ReceivedAt.Format(time.RFC3339), r.ReporterEmail, r.ReporterUserID, r.ReporterIP, r.Verdict, r.Score)
		if r.Kind == "link" {
			fmt.Fprintf(stdout, "url:         %s\nnote:        %s\n", r.URL, r.Note)
		} else {
			kept := "erased"
			if r.Raw != nil {
				kept = "kept until " + r.RawExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "from:        %s\nsubject:     %s\nmessage-id:  %s\nmessage:     %d bytes, sha256 %s, %s\n", r.FromHeader, r.Subject, r.MessageID, r.RawSize, r.RawSHA256, kept)
		}
		var analysis any
		if json.Unmarshal([]byte(r.Analysis), &analysis) == nil {
			b, _ := json.MarshalIndent(analysis, "", "  ")
			fmt.Fprintf(stdout, "analysis:\n%s\n", b)
		}
		return 0
	}
	list, err := a.Phishing.List(ctx, "", nil, *limit)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			_ = enc.Encode(r) // stdout
		}
		return 0
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no phishing reports")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tKIND\tVERDICT\tFROM / URL\tREASONS")
	for _, r := range list {
		what := r.From
		if r.Kind == "link" {
			what = r.URL
		}
		codes := make([]string, len(r.Reasons))
		for i, x := range r.Reasons {
			codes[i] = x.Code
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.ReceivedAt.Format(time.RFC3339), r.Source, r.Kind, r.Verdict, clip(what, 60), strings.Join(codes, ","))
	}
	_ = tw.Flush()
	return 0
}

// clip shortens s for a table column, on a rune boundary, without control
// characters (a reported From can hold anything).
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
