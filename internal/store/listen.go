package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener is told what a PostgreSQL LISTEN connection hears (Listen).
type Listener interface {
	// Listening: the connection is up and listening; notifications sent
	// from now on arrive.
	Listening()
	// Lost: the connection is down; notifications may be missed until
	// Listening is called again.
	Lost(err error)
	// Notified delivers one notification's payload.
	Notified(payload string)
}

// Listen keeps a LISTEN connection to the PostgreSQL database at url on
// channel, reconnecting every second while it is down, and tells l what it
// hears. It returns when ctx ends. (Tx.Notify sends on a channel; the
// notification is delivered at commit.)
func Listen(ctx context.Context, url, channel string, l Listener, log *slog.Logger) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, url, channel, l)
		l.Lost(err)
		if ctx.Err() != nil {
			return
		}
		log.Warn("LISTEN connection lost; retrying", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, url, channel string, l Listener) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	l.Listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.Notified(n.Payload)
	}
}
