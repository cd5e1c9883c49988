package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// opsEnv is a real embedded server listening on TCP, for naq processes, with
// an in-process connection and client for the test's own setup.
type opsEnv struct {
	url    string
	env    []string
	nc     *nats.Conn
	client *naq.Client
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	srv, nc := testutil.Server(t, embedded.WithListen("127.0.0.1", -1))
	c, err := naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	return &opsEnv{url: url, env: []string{"NAQ_NATS_URL=" + url}, nc: nc, client: c}
}

// run runs naq against the server.
func (e *opsEnv) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runNaq(t, e.env, args...)
}

// runPiped runs naq with stdin a pipe holding input: no terminal.
func (e *opsEnv) runPiped(t *testing.T, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runNaqStdin(t, e.env, strings.NewReader(input), args...)
}

// ok runs naq and fails the test unless it exits 0.
func (e *opsEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.run(t, args...)
	if code != 0 {
		t.Fatalf("naq %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// exits runs naq and checks its exit code; it returns stderr.
func (e *opsEnv) exits(t *testing.T, want int, args ...string) string {
	t.Helper()
	out, errOut, code := e.run(t, args...)
	if code != want {
		t.Fatalf("naq %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return errOut
}

// json runs naq with --json, checks exit 0 and decodes stdout into v.
func (e *opsEnv) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := e.ok(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("naq %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// opsHasKeys fails unless the JSON object m has every key.
func opsHasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no key %q in %v", what, k, m)
		}
	}
}

// startWorker runs an in-process worker on the env's server until the test
// ends or stop is called.
func (e *opsEnv) startWorker(t *testing.T, register func(w *worker.Worker), opts ...worker.Option) (w *worker.Worker, stop func()) {
	t.Helper()
	opts = append([]worker.Option{worker.WithLogger(testutil.Logger()), worker.WithPollWait(200 * time.Millisecond)}, opts...)
	w, err := worker.New(e.nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	register(w)
	return w, workertest.Run(t, w)
}

// opsWaitFor polls cond every 100 ms for up to d.
func opsWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
