package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
)

// jobTestServer starts an embedded NATS server on a free TCP port and returns
// its URL, for naq processes, and a client on it, for the test.
func jobTestServer(t *testing.T) (string, *naq.Client) {
	t.Helper()
	srv, nc := testutil.Server(t, embedded.WithListen("127.0.0.1", -1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	return srv.ClientURL(), c
}

// startHTTPWorker runs `naq worker args...` against url until the test ends,
// then stops it with SIGTERM and checks that it exits 0.
func startHTTPWorker(t *testing.T, url string, args ...string) {
	t.Helper()
	cmd := exec.Command(naqBin, append([]string{"worker", "--url", url}, args...)...)
	cmd.Env = naqEnv(nil)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("naq worker exited with %v; stderr:\n%s", err, stderr)
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("naq worker did not stop on SIGTERM; stderr:\n%s", stderr)
		}
	})
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), "worker started") {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("naq worker exited early (%v); stderr:\n%s", err, stderr)
		case <-deadline:
			t.Fatalf("naq worker not started within 30s; stderr:\n%s", stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// awaitJobResult waits (generously) for a job's result.
func awaitJobResult(t *testing.T, c *naq.Client, id string) *naq.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Wait(ctx, id)
	if res == nil {
		t.Fatalf("wait for job %s: %v", id, err)
	}
	return res
}

// requestLog records the requests an endpoint received.
type requestLog struct {
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	header http.Header
	job    *naq.Job
	err    error
	at     time.Time
}

func (l *requestLog) add(r *http.Request) recordedRequest {
	body, err := io.ReadAll(r.Body)
	rec := recordedRequest{header: r.Header.Clone(), err: err, at: time.Now()}
	if err == nil {
		rec.job, rec.err = naq.DecodeJob(body)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, rec)
	l.mu.Unlock()
	return rec
}

// forJob returns the requests made for one job.
func (l *requestLog) forJob(id string) []recordedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []recordedRequest
	for _, r := range l.reqs {
		if r.header.Get("X-Naq-Job-Id") == id {
			out = append(out, r)
		}
	}
	return out
}

func TestWorkerHTTPSuccess(t *testing.T) {
	url, c := jobTestServer(t)
	var log requestLog
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := log.add(r)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || rec.err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch rec.job.Name {
		case "json":
			var args struct{ N int }
			_ = rec.job.Bind(&args)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok": true, "double": %d}`, args.N*2)
		case "text":
			io.WriteString(w, "plain text")
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL, "-q", "web", "--concurrency", "4")

	ctx := jobTestCtx(t)
	want := map[string]string{"json": `{"ok":true,"double":42}`, "text": `"plain text"`, "empty": "null"}
	ids := map[string]string{}
	for name := range want {
		j, err := c.Enqueue(ctx, name, naq.Kwargs{"N": 21}, naq.Queue("web"))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = j.ID
	}
	for name, id := range ids {
		res := awaitJobResult(t, c, id)
		if res.Status != naq.StateCompleted || string(res.Value) != want[name] || res.Attempts != 1 {
			t.Errorf("%s: status %s, result %s, attempts %d; want completed, %s, 1 (error %v)", name, res.Status, res.Value, res.Attempts, want[name], res.Err())
		}
		reqs := log.forJob(id)
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests, want 1", name, len(reqs))
		}
		h, job := reqs[0].header, reqs[0].job
		if h.Get("X-Naq-Attempt") != "1" || h.Get("X-Naq-Queue") != "web" || h.Get("X-Naq-Function") != name {
			t.Errorf("%s: headers %v", name, h)
		}
		if job == nil || job.ID != id || job.Name != name || job.Queue != "web" || string(job.Kwargs["N"]) != "21" {
			t.Errorf("%s: the body is not the job: %+v (%v)", name, job, reqs[0].err)
		}
	}
}

func TestWorkerHTTP4xxFailsWithoutRetry(t *testing.T) {
	url, c := jobTestServer(t)
	var log requestLog
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		http.Error(w, "  missing field\n 'email'  ", http.StatusUnprocessableEntity)
	}))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL)

	j, err := c.Enqueue(jobTestCtx(t), "signup", nil, naq.MaxRetries(3))
	if err != nil {
		t.Fatal(err)
	}
	res := awaitJobResult(t, c, j.ID)
	if res.Status != naq.StateFailed || res.Attempts != 1 || res.ErrorKind != "http:4xx" {
		t.Fatalf("status %s, attempts %d, kind %q; want failed after 1 attempt, http:4xx", res.Status, res.Attempts, res.ErrorKind)
	}
	if msg := *res.Error; !strings.Contains(msg, "422") || !strings.Contains(msg, "missing field 'email'") {
		t.Errorf("error %q should carry the status and the body", msg)
	}
	if n := len(log.forJob(j.ID)); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
}

func TestWorkerHTTP5xxRetries(t *testing.T) {
	url, c := jobTestServer(t)
	var log requestLog
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		if n := len(log.forJob(r.Header.Get("X-Naq-Job-Id"))); n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `"done"`)
	}))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL)

	ctx := jobTestCtx(t)
	ok, err := c.Enqueue(ctx, "flaky", nil, naq.MaxRetries(3), naq.RetryDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res := awaitJobResult(t, c, ok.ID)
	if res.Status != naq.StateCompleted || res.Attempts != 3 || string(res.Value) != `"done"` {
		t.Fatalf("status %s, attempts %d, result %s; want completed after 3 attempts (error %v)", res.Status, res.Attempts, res.Value, res.Err())
	}
	reqs := log.forJob(ok.ID)
	if len(reqs) != 3 || reqs[2].header.Get("X-Naq-Attempt") != "3" {
		t.Fatalf("%d requests (want 3), last attempt header %q", len(reqs), reqs[len(reqs)-1].header.Get("X-Naq-Attempt"))
	}

	// Out of retries: failed, with the 5xx kind, which retry_on can name.
	short, err := c.Enqueue(ctx, "flaky", nil, naq.MaxRetries(1), naq.RetryOn("http:5xx"))
	if err != nil {
		t.Fatal(err)
	}
	res = awaitJobResult(t, c, short.ID)
	if res.Status != naq.StateFailed || res.Attempts != 2 || res.ErrorKind != "http:5xx" || !strings.Contains(*res.Error, "503") {
		t.Fatalf("status %s, attempts %d, kind %q, error %v; want failed after 2 attempts, http:5xx", res.Status, res.Attempts, res.ErrorKind, res.Err())
	}
}

func TestWorkerHTTPTimeout(t *testing.T) {
	url, c := jobTestServer(t)
	var log requestLog
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		select { // longer than any timeout below
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL, "-q", "slow", "--http-timeout", "300ms")
	// Without --http-timeout, the job's own timeout bounds the request.
	startHTTPWorker(t, url, "--target", ep.URL, "-q", "slowjob")

	ctx := jobTestCtx(t)
	j, err := c.Enqueue(ctx, "slow", nil, naq.Queue("slow"), naq.MaxRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	res := awaitJobResult(t, c, j.ID)
	if res.Status != naq.StateFailed || res.Attempts != 2 || res.ErrorKind != "http:timeout" || !strings.Contains(*res.Error, "300ms") {
		t.Fatalf("status %s, attempts %d, kind %q, error %v; want failed after 2 attempts, http:timeout", res.Status, res.Attempts, res.ErrorKind, res.Err())
	}
	if n := len(log.forJob(j.ID)); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	j, err = c.Enqueue(ctx, "slow", nil, naq.Queue("slowjob"), naq.Timeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res = awaitJobResult(t, c, j.ID)
	if res.Status != naq.StateFailed || res.ErrorKind != "builtins:TimeoutError" {
		t.Fatalf("job timeout: status %s, kind %q, error %v; want failed, builtins:TimeoutError", res.Status, res.ErrorKind, res.Err())
	}
}

func TestWorkerHTTPConnectionError(t *testing.T) {
	url, c := jobTestServer(t)
	ep := httptest.NewServer(http.NotFoundHandler())
	dead := ep.URL
	ep.Close() // nothing listens there any more
	startHTTPWorker(t, url, "--target", dead)

	j, err := c.Enqueue(jobTestCtx(t), "any", nil, naq.MaxRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	res := awaitJobResult(t, c, j.ID)
	if res.Status != naq.StateFailed || res.Attempts != 2 || res.ErrorKind != "http:connection" {
		t.Fatalf("status %s, attempts %d, kind %q, error %v; want failed after 2 attempts, http:connection", res.Status, res.Attempts, res.ErrorKind, res.Err())
	}
}

func TestWorkerUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"worker"}, // no --target
		{"worker", "--target", "ftp://example.com/x"},
		{"worker", "--target", "http://localhost:1/", "--concurrency", "0"},
		{"worker", "bad queue!", "--target", "http://localhost:1/"},
	} {
		// No server: a usage error is found before connecting.
		_, stderr, code := runNaq(t, []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}, args...)
		if code != exitUsage {
			t.Errorf("naq %v: exit %d, want 2; stderr:\n%s", args, code, stderr)
		}
	}
}

func jobTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// 429 says "not now": the job is retried, no sooner than Retry-After asks,
// although its own retry delay is zero.
func TestWorkerHTTP429RetriesAfterRetryAfter(t *testing.T) {
	url, c := jobTestServer(t)
	var log requestLog
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := log.add(r)
		if rec.header.Get("X-Naq-Attempt") == "1" {
			w.Header().Set("Retry-After", "2")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `"done"`)
	}))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL)

	j, err := c.Enqueue(jobTestCtx(t), "send", nil, naq.MaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	res := awaitJobResult(t, c, j.ID)
	if res.Status != naq.StateCompleted || res.Attempts != 2 {
		t.Fatalf("status %s after %d attempts (error %v); want completed after 2", res.Status, res.Attempts, res.Err())
	}
	reqs := log.forJob(j.ID)
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 1900*time.Millisecond {
		t.Errorf("retried %s after the 429; Retry-After asked for 2 s", gap)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Fri, 27 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Fri, 27 Nov 2026 11:00:00 GMT", 0, true}, // in the past: at once
		{"99999999999", 7 * 24 * time.Hour, true},  // capped
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
