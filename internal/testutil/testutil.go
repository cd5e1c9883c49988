// Package testutil starts real embedded NATS servers for tests.
package testutil

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/embedded"
)

// Server starts an embedded JetStream server in a temp dir and returns it with
// an in-process connection; both are closed when the test ends.
func Server(t testing.TB, opts ...embedded.Option) (*embedded.Server, *nats.Conn) {
	t.Helper()
	srv, err := embedded.Start(t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
	})
	return srv, nc
}

// Logger returns a logger that is silent unless NAQ_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("NAQ_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
