package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// dialTest connects to url over TCP, failing fast when no server answers.
func dialTest(t *testing.T, ctx context.Context, url string, opts ...naq.DialOption) (*nats.Conn, error) {
	t.Helper()
	all := append([]naq.DialOption{naq.WithURL(url), naq.WithNATSOptions(nats.RetryOnFailedConnect(false))}, opts...)
	nc, err := naq.Dial(ctx, all...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// runTestWorker runs an in-process worker on nc that answers "tasks:echo" with
// its argument, until the test ends.
func runTestWorker(t *testing.T, nc *nats.Conn, opts ...worker.Option) {
	t.Helper()
	w, err := worker.New(nc, opts...)
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	w.HandleFunc("tasks:echo", func(_ context.Context, j *naq.Job) (any, error) {
		var s string
		err := j.Bind(&s)
		return s, err
	})
	workertest.Run(t, w)
}

func TestServerServesJobs(t *testing.T) {
	url := startServer(t)
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("url = %q, want nats://127.0.0.1:<port>", url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := dialTest(t, ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Enqueue(ctx, "tasks:echo", "hello")
	if err != nil {
		t.Fatal(err)
	}
	runTestWorker(t, nc)
	r, err := c.Wait(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != naq.StateCompleted || string(r.Value) != `"hello"` {
		t.Fatalf("result = %s %s, want completed \"hello\"", r.Status, r.Value)
	}
}

func TestServerDataSurvivesRestart(t *testing.T) {
	store := t.TempDir()
	args := []string{"--port", strconv.Itoa(freePort(t)), "--store", store}
	p, err := launchServer(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	nc, err := dialTest(t, ctx, p.url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Enqueue(ctx, "tasks:echo", "kept")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	p.stop()
	if code := p.exitCode(); code != 0 {
		t.Fatalf("server exit code after SIGTERM = %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "naq server stopped") {
		t.Errorf("stderr does not log the shutdown:\n%s", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(store, "naq-server.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left after a clean stop: %v", err)
	}

	// Same store, same port: the pending job is still there and runs.
	p2, err := launchServer(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p2.stop)
	nc2, err := dialTest(t, ctx, p2.url)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := naq.NewClient(ctx, nc2)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c2.JetStream().Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("naq_jobs holds %d messages after the restart, want the 1 pending job", n)
	}
	runTestWorker(t, nc2)
	r, err := c2.Wait(ctx, j.ID)
	if err != nil || string(r.Value) != `"kept"` {
		t.Fatalf("result after restart = %+v, %v", r, err)
	}
}

func TestServerRestartAfterKill(t *testing.T) {
	store := t.TempDir()
	args := []string{"--port", "-1", "--store", store}
	p, err := launchServer(args...)
	if err != nil {
		t.Fatal(err)
	}
	p.kill() // leaves its pid file behind
	p2, err := launchServer(args...)
	if err != nil {
		t.Fatalf("restart on the store of a killed server: %v", err)
	}
	t.Cleanup(p2.stop)
}

func TestServerAuthToken(t *testing.T) {
	url := startServer(t, "--auth-token", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := dialTest(t, ctx, url); err == nil {
		t.Fatal("connected without the token")
	} else if !strings.Contains(err.Error(), "check the user, password, token") {
		t.Errorf("error without token = %v; want the authentication hint", err)
	}
	if _, err := dialTest(t, ctx, url, naq.WithToken("wrong")); err == nil {
		t.Fatal("connected with a wrong token")
	}
	nc, err := dialTest(t, ctx, url, naq.WithToken("s3cret"))
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, "tasks:echo", "x"); err != nil {
		t.Fatal(err)
	}
}

func TestServerAuthUserPassword(t *testing.T) {
	url := startServer(t, "--auth-user", "ana", "--auth-password", "pw")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := dialTest(t, ctx, url); err == nil {
		t.Fatal("connected without a password")
	}
	if _, err := dialTest(t, ctx, url, naq.WithUserPassword("ana", "pw")); err != nil {
		t.Fatalf("with user and password: %v", err)
	}
}

func TestServerBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--bogus"},
		{"server", "--port", "many"},
		{"server", "--port", "70000"},
		{"server", "extra-arg"},
		{"server", "--auth-user", "ana"},
		{"server", "--auth-token", "t", "--auth-user", "ana", "--auth-password", "pw"},
		{"server", "--routes", "nats-route://127.0.0.1:6222"},
		{"server", "--cluster-name", "c", "--routes", "http://127.0.0.1:6222"},
	} {
		_, stderr, code := runNaq(t, nil, args...)
		if code != exitUsage {
			t.Errorf("naq %v: exit %d, want %d; stderr:\n%s", args, code, exitUsage, stderr)
		}
		if !strings.HasPrefix(stderr, "naq: ") {
			t.Errorf("naq %v: stderr %q, want a naq: line", args, stderr)
		}
	}
}

func TestServerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	stdout, stderr, code := runNaq(t, nil, "server", "--port", port, "--store", t.TempDir())
	if code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	want := "naq: server: client port 127.0.0.1:" + port + " is in use"
	if !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr = %q, want one line starting %q", stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
}

func TestServerStoreInUseOrUnwritable(t *testing.T) {
	store := t.TempDir()
	startServer(t, "--store", store)
	_, stderr, code := runNaq(t, nil, "server", "--port", "-1", "--store", store)
	if code != exitFailure || !strings.Contains(stderr, "is in use by another naq server") {
		t.Fatalf("second server on one store: exit %d, stderr %q", code, stderr)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runNaq(t, nil, "server", "--port", "-1", "--store", filepath.Join(file, "store"))
	if code != exitFailure || !strings.Contains(stderr, "cannot create store directory") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("store under a file: exit %d, stderr %q", code, stderr)
	}
}
