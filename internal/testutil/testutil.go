// Package testutil starts real embedded NATS servers for tests.
package testutil

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

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

// Eventually fails the test unless cond returns true within timeout. It checks
// every 20 ms, so a test waits only as long as the machine needs, and says what
// it waited for: Eventually(t, 10*time.Second, "the job to finish", done).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
