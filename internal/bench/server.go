package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
)

// embeddedServer is Report.Server for a run on its own embedded server.
const embeddedServer = "embedded"

// connect opens the benchmark's three connections (raw, client, worker): to an
// embedded server of the run's own, or to cfg.URL. closeAll closes them and
// whatever connect started. With fresh set, a server of cfg.URL must hold no
// naq data yet.
func connect(ctx context.Context, cfg Config, fresh bool) (conns []*nats.Conn, server string, closeAll func(), err error) {
	var undo []func()
	undoAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			undoAll()
		}
	}()
	dial := func() (*nats.Conn, error) { return nats.Connect(cfg.URL) }
	server = redactedURL(cfg.URL)
	if cfg.URL == "" {
		dir := cfg.Dir
		if dir == "" {
			d, err := os.MkdirTemp("", "naqbench-")
			if err != nil {
				return nil, "", nil, err
			}
			undo = append(undo, func() { os.RemoveAll(d) })
			dir = d
		}
		srv, err := embedded.Start(dir)
		if err != nil {
			return nil, "", nil, err
		}
		undo = append(undo, srv.Shutdown)
		dial = func() (*nats.Conn, error) { return srv.Connect() }
		server = embeddedServer
	} else if cfg.Dir != "" {
		return nil, "", nil, errors.New("a store directory is for the embedded server: give a URL or a directory, not both")
	}
	conns = make([]*nats.Conn, 3)
	for i := range conns {
		if conns[i], err = dial(); err != nil {
			return nil, "", nil, fmt.Errorf("connect to %s: %w", server, err)
		}
		undo = append(undo, conns[i].Close)
	}
	if cfg.URL != "" && fresh {
		if err := checkFresh(ctx, conns[0]); err != nil {
			return nil, "", nil, err
		}
	}
	return conns, server, undoAll, nil
}

// checkFresh refuses a server that already holds naq's or the benchmark's
// streams: the benchmark purges them, and a second run within the duplicate
// window would find its baseline's message ids already taken.
func checkFresh(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, name := range []string{layout.JobsStream, layout.ResultsStream, rawStream} {
		_, err := js.Stream(ctx, name)
		switch {
		case err == nil:
			return fmt.Errorf("the server already has stream %s: the benchmark needs a server of its own with no naq data (it purges naq's streams)", name)
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("look for stream %s: %w", name, err)
		}
	}
	return nil
}

// redactedURL is u without its password, for the report.
func redactedURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}
