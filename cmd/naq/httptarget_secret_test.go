package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/naqgo/naq"
)

// startLoggedHTTPWorker is startHTTPWorker that also returns the worker's
// stderr.
func startLoggedHTTPWorker(t *testing.T, url string, args ...string) *syncBuffer {
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
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("naq worker did not stop on SIGTERM; stderr:\n%s", stderr)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "worker started"); {
		if time.Now().After(deadline) {
			t.Fatalf("naq worker not started within 30s; stderr:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stderr
}

// TestHTTPTargetKeepsItsPasswordSecret runs HTTP workers whose targets carry
// a password: one answers 500 (the job retries, then fails), one refuses the
// connection. The password reaches the endpoint as Basic authentication and
// appears in no log line, job error, status or failed-job record.
func TestHTTPTargetKeepsItsPasswordSecret(t *testing.T) {
	const secret = "hunter2-secret"
	url, c := jobTestServer(t)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "naq" || p != secret {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer ep.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	withPassword := strings.Replace(ep.URL, "http://", "http://naq:"+secret+"@", 1) + "/jobs"
	logs := []*syncBuffer{
		startLoggedHTTPWorker(t, url, "sec-5xx", "--target", withPassword),
		startLoggedHTTPWorker(t, url, "sec-conn", "--target", "http://naq:"+secret+"@127.0.0.1:"+closed+"/jobs"),
	}
	ctx := t.Context()
	j5, err := c.Enqueue(ctx, "tasks:any", "x", naq.Queue("sec-5xx"), naq.MaxRetries(1), naq.RetryDelay(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := c.Enqueue(ctx, "tasks:any", "y", naq.Queue("sec-conn"), naq.MaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job  *naq.Job
		kind string
	}{{j5, "http:5xx"}, {jc, kindHTTPConnection}} {
		r := awaitJobResult(t, c, tc.job.ID)
		if r.Status != naq.StateFailed || r.ErrorKind != tc.kind {
			t.Errorf("job on %s: %s %s, want failed %s", tc.job.Queue, r.Status, r.ErrorKind, tc.kind)
		}
		st, err := c.Status(ctx, tc.job.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := json.Marshal([]any{r, st})
		if strings.Contains(string(stored), secret) {
			t.Errorf("the job's records show the password: %s", stored)
		}
		if !strings.Contains(string(stored), "127.0.0.1") {
			t.Errorf("the job's records do not name the target: %s", stored)
		}
	}
	failed, err := c.ListFailed(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 {
		t.Errorf("%d failed-job records, want 2", len(failed))
	}
	if b, _ := json.Marshal(failed); strings.Contains(string(b), secret) {
		t.Errorf("the failed-job records show the password: %s", b)
	}
	for _, l := range logs {
		out := l.String()
		if strings.Contains(out, secret) {
			t.Errorf("the worker's log shows the password:\n%s", out)
		}
		if !strings.Contains(out, "naq:xxxxx@127.0.0.1") {
			t.Errorf("the worker's log does not show the target, masked:\n%s", out)
		}
	}
}
