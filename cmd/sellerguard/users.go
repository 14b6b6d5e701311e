package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
)

// cmdUsers handles `users import FILE`.
func cmdUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: sellerguard users import [--format csv|json] FILE")
		return 2
	}
	fs := flag.NewFlagSet("sellerguard users import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	format := fs.String("format", "", "csv or json (default: from the file name)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: sellerguard users import [--format csv|json] FILE")
		return 2
	}
	if err := finishConfig(cfg, envErr); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = f.Close() }()
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	rows, err := readImport(io.LimitReader(f, 1<<30), *format)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), versionString())
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = a.Close() }()
	actor := cliActor()
	var imported, skipped, failed int
	for i, r := range rows {
		err := a.Account.ImportUser(ctx, r, actor)
		switch {
		case err == nil:
			imported++
		case errors.Is(err, account.ErrAlreadyRegistered):
			skipped++
			fmt.Fprintf(stderr, "record %d (%s): already registered, skipped\n", i+1, r.Email)
		default:
			failed++
			fmt.Fprintf(stderr, "record %d: %v\n", i+1, err)
		}
	}
	fmt.Fprintf(stdout, "imported %d users, skipped %d already registered, refused %d\n", imported, skipped, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// readImport reads CSV (a header row naming email, password_hash and
// optionally business_name) or JSON (an array of objects with those keys).
func readImport(r io.Reader, format string) ([]account.ImportedUser, error) {
	switch format {
	case "json":
		var out []account.ImportedUser
		dec := json.NewDecoder(r)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("reading JSON: %w (want an array of {\"email\", \"password_hash\", \"business_name\"})", err)
		}
		return out, nil
	case "csv":
		cr := csv.NewReader(r)
		header, err := cr.Read()
		if err != nil {
			return nil, fmt.Errorf("reading CSV header: %w", err)
		}
		col := map[string]int{}
		for i, h := range header {
			col[strings.ToLower(strings.TrimSpace(h))] = i
		}
		ei, ok1 := col["email"]
		hi, ok2 := col["password_hash"]
		if !ok1 || !ok2 {
			return nil, errors.New("the CSV header must name the columns email and password_hash (and may name business_name)")
		}
		bi, hasBiz := col["business_name"]
		var out []account.ImportedUser
		for line := 2; ; line++ {
			rec, err := cr.Read()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("reading CSV line %d: %w", line, err)
			}
			u := account.ImportedUser{Email: rec[ei], PasswordHash: rec[hi]}
			if hasBiz && bi < len(rec) {
				u.BusinessName = rec[bi]
			}
			out = append(out, u)
		}
	}
	return nil, fmt.Errorf("unknown format %q: use --format csv or json", format)
}
