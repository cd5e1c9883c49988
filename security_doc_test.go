package naq_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// docConf is the ```conf block of docs/security.md.
func docConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```conf\n")
	if !ok {
		t.Fatal("docs/security.md has no ```conf block")
	}
	conf, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the ```conf block of docs/security.md does not end")
	}
	return conf
}

// TestSecurityDocPermissions runs nats-server with the permissions example of
// docs/security.md: the naq user provisions and works, the webapp user
// enqueues on its queue and reads the result, and cannot enqueue elsewhere.
func TestSecurityDocPermissions(t *testing.T) {
	clearDialEnv(t)
	t.Setenv("NAQ_PASSWORD", "naq-pw")
	t.Setenv("WEBAPP_PASSWORD", "webapp-pw")
	path := filepath.Join(t.TempDir(), "naq.conf")
	if err := os.WriteFile(path, []byte(docConf(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	// Loopback, a free port and a temporary store instead of the example's.
	o.Host, o.Port, o.StoreDir, o.NoSigs = "127.0.0.1", -1, t.TempDir(), true
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	ctx := t.Context()
	dial := func(opts ...naq.DialOption) (*nats.Conn, error) {
		all := append([]naq.DialOption{naq.WithURL(s.ClientURL()), naq.WithNATSOptions(nats.RetryOnFailedConnect(false))}, opts...)
		nc, err := naq.Dial(ctx, all...)
		if err == nil {
			t.Cleanup(nc.Close)
		}
		return nc, err
	}
	if _, err := dial(); err == nil {
		t.Fatal("connected without credentials")
	}
	admin, err := dial(naq.WithUserPassword("naq", "naq-pw"))
	if err != nil {
		t.Fatal(err)
	}
	// The naq user creates the layout; the webapp may only look at it.
	ac, err := naq.NewClient(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(admin, worker.WithQueues("emails"), worker.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("mail:send", func(_ context.Context, j *naq.Job) (any, error) { return "sent", nil })
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })

	nc, err := dial(naq.WithUserPassword("webapp", "webapp-pw"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatalf("webapp client: %v", err)
	}
	j, err := c.Enqueue(ctx, "mail:send", "ana@example.com", naq.Queue("emails"))
	if err != nil {
		t.Fatalf("webapp enqueue on emails: %v", err)
	}
	r, err := c.Wait(ctx, j.ID)
	if err != nil || string(r.Value) != `"sent"` {
		t.Fatalf("webapp waits for its job: %+v, %v", r, err)
	}
	if _, err := c.Result(ctx, j.ID); err != nil {
		t.Errorf("webapp reads the result: %v", err)
	}

	// A job with a dependency: the webapp may not write the dependents
	// index (the doc says which permission it would need); the job is
	// enqueued all the same, at once, and runs after its dependency.
	start := time.Now()
	after, err := c.Enqueue(ctx, "mail:send", "bo@example.com", naq.Queue("emails"), naq.DependsOn(j.ID))
	if err != nil {
		t.Fatalf("webapp enqueue with a dependency: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("enqueue with a dependency took %s without the index's permission", took)
	}
	if r, err := c.Wait(ctx, after.ID); err != nil || string(r.Value) != `"sent"` {
		t.Fatalf("webapp waits for its dependent job: %+v, %v", r, err)
	}

	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = c.Enqueue(dctx, "billing:charge", 100, naq.Queue("billing"))
	cancel()
	if err == nil {
		t.Fatal("webapp enqueued on billing")
	}
	info, err := ac.JetStream().Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("naq_jobs holds %d messages after the refused enqueue, want 0", n)
	}
}
