package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sellerguard/sellerguard/internal/keyrotation"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/store"
)

const keysUsage = `usage:
  sellerguard keys rotate [--batch-size N] [--batch-pause D]
      add a new instance key to the key file and re-seal every sealed value
      under it, in batches, while the service keeps running; old keys stay
      (values under them open at all times). Resumes a rotation that stopped
      before finishing. Audited.
  sellerguard keys status
      list the key versions in the key file and every rotation with its progress
`

// cmdKeys runs "sellerguard keys rotate|status".
func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	switch args[0] {
	case "rotate":
		return keysRotate(ctx, args[1:], getenv, stdout, stderr)
	case "status":
		return keysStatus(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, keysUsage)
		return 0
	}
	fmt.Fprintf(stderr, "sellerguard keys: unknown command %q\n%s", args[0], keysUsage)
	return 2
}

func openKeysAndDB(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*keys.Keys, *store.DB, error) {
	cfg, rest, err := loadSubConfig(name, args, getenv, stderr, extra)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sellerguard %s: unexpected argument %q\n", name, rest[0])
		return nil, nil, errUsage
	}
	k, err := keys.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	db, _, err := openDB(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	return k, db, nil
}

func keysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var batch int
	var pause time.Duration
	k, db, err := openKeysAndDB(ctx, "keys rotate", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&batch, "batch-size", 100, "values re-sealed per transaction (1-10000)")
		fs.DurationVar(&pause, "batch-pause", 0, "pause between batches, to spread the load (0-1m)")
	})
	if err != nil {
		return exitCode(err, stderr)
	}
	defer func() { _ = db.Close() }()
	if batch < 1 || batch > 10000 || pause < 0 || pause > time.Minute {
		fmt.Fprintln(stderr, "sellerguard keys rotate: --batch-size must be 1-10000 and --batch-pause 0-1m")
		return 2
	}
	r := &keyrotation.Rotator{DB: db, Keys: k, BatchSize: batch, Pause: pause}
	rot, resumed, err := r.Start(ctx, cliActor())
	if err != nil {
		return exitCode(err, stderr)
	}
	if resumed {
		fmt.Fprintf(stdout, "resuming the rotation to key version %d (%d values re-sealed so far)\n", rot.Version, rot.Resealed)
	} else {
		fmt.Fprintf(stdout, "added key version %d to %s; re-sealing every sealed value under it\n", rot.Version, k.Path())
	}
	done, remaining, err := r.Run(ctx, rot)
	if err != nil {
		fmt.Fprintf(stderr, "sellerguard: %v\nrun \"sellerguard keys rotate\" again to resume (progress is saved)\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "rotation to key version %d done: %d values re-sealed", done.Version, done.Resealed)
	if remaining > 0 {
		fmt.Fprintf(stdout, "; %d values sealed meanwhile by instances without the new key stay under older keys (they open; the next rotation re-seals them)", remaining)
	}
	fmt.Fprintln(stdout)
	return 0
}

func keysStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	k, db, err := openKeysAndDB(ctx, "keys status", args, getenv, stderr, nil)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer func() { _ = db.Close() }()
	fmt.Fprintf(stdout, "key file %s: versions %v, sealing under %d\n", k.Path(), k.Versions(), k.Current())
	rots, err := db.KeyRotations(ctx)
	if err != nil {
		return exitCode(err, stderr)
	}
	if len(rots) == 0 {
		fmt.Fprintln(stdout, "no rotations yet")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATUS\tRESEALED\tAT FIELD\tSTARTED\tBY\tFINISHED")
	for _, r := range rots {
		fin := "-"
		if !r.FinishedAt.IsZero() {
			fin = r.FinishedAt.Format(time.RFC3339)
		}
		field := r.Field
		if field == "" {
			field = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Version, r.Status, r.Resealed, field, r.StartedAt.Format(time.RFC3339), r.StartedBy, fin)
	}
	_ = tw.Flush()
	return 0
}
