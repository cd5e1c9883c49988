package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// startMathWorker runs an in-process Go worker on c's connection until the
// test ends: "math:add" adds its positional arguments, "math:fail" fails.
func startMathWorker(t *testing.T, c *naq.Client) {
	t.Helper()
	w, err := worker.New(c.Conn(), worker.WithLogger(testutil.Logger()), worker.WithPollWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	w.Handle("math:add", worker.Typed(func(_ context.Context, xs []int) (int, error) {
		sum := 0
		for _, x := range xs {
			sum += x
		}
		return sum, nil
	}))
	w.HandleFunc("math:fail", func(context.Context, *naq.Job) (any, error) {
		return nil, worker.SkipRetry(errors.New("division by zero"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// naqAt runs naq with NAQ_NATS_URL set to url.
func naqAt(t *testing.T, url string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runNaq(t, []string{"NAQ_NATS_URL=" + url}, args...)
}

func jsonKeys(t *testing.T, out string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	return m
}

func hasKeys(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func TestEnqueueWaitRoundTrip(t *testing.T) {
	url, c := jobTestServer(t)
	startMathWorker(t, c)

	out, stderr, code := naqAt(t, url, "enqueue", "math:add", "--args", "[1, 2, 39]", "--wait", "--wait-timeout", "60s")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || lines[1] != "42" {
		t.Fatalf("exit %d, stdout %q (want the id, then 42); stderr:\n%s", code, out, stderr)
	}
	res, err := c.Result(jobTestCtx(t), lines[0])
	if err != nil || string(res.Value) != "42" {
		t.Fatalf("the first line is not the job's id: %v, %v", res, err)
	}

	out, stderr, code = naqAt(t, url, "enqueue", "math:add", "--args", "[2, 3]", "--wait", "--json")
	rec := jsonKeys(t, out)
	if code != 0 || string(rec["status"]) != `"completed"` || string(rec["result"]) != "5" || string(rec["queue_name"]) != `"naq_default_queue"` {
		t.Fatalf("--wait --json: exit %d, stdout %s; stderr:\n%s", code, out, stderr)
	}

	out, stderr, code = naqAt(t, url, "enqueue", "math:fail", "--wait", "--retries", "2")
	if code != 1 || !strings.Contains(stderr, "division by zero") || len(strings.Fields(out)) != 1 {
		t.Fatalf("failing job: exit %d (want 1), stdout %q, stderr:\n%s", code, out, stderr)
	}
}

func TestEnqueueJSONAndOptions(t *testing.T) {
	url, c := jobTestServer(t)
	out, stderr, code := naqAt(t, url, "enqueue", "mail:send", "--json", "-q", "mail", "--job-id", "mail-1",
		"--args", `["ana@example.com"]`, "--kwargs", `{"subject": "hi", "n": [1, 2]}`,
		"--retries", "4", "--retry-delay", "1s,5s,30", "--retry-strategy", "exponential", "--timeout", "90s",
		"--depends-on", "a1,a2", "--result-ttl", "1h", "--retry-on", "http:5xx")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	m := jsonKeys(t, out)
	if !hasKeys(m, "job_id", "function", "queue_name", "job") || string(m["job_id"]) != `"mail-1"` || string(m["queue_name"]) != `"mail"` {
		t.Fatalf("--json output: %s", out)
	}
	var wire bytes.Buffer
	if err := json.Compact(&wire, m["job"]); err != nil {
		t.Fatal(err)
	}
	j, err := naq.DecodeJob(wire.Bytes())
	if err != nil {
		t.Fatalf("the job field is not a wire job: %v", err)
	}
	if j.ID != "mail-1" || j.Name != "mail:send" || string(j.Args[0]) != `"ana@example.com"` || string(j.Kwargs["n"]) != "[1,2]" ||
		j.MaxRetries != 4 || !slices.Equal(j.RetryDelay, []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}) ||
		j.RetryStrategy != naq.Exponential || j.Timeout != 90*time.Second || !slices.Equal(j.DependsOn, []string{"a1", "a2"}) ||
		j.ResultTTL != time.Hour || !slices.Equal(j.RetryOn, []string{"http:5xx"}) {
		t.Fatalf("job: %+v", j)
	}
	// The job is on its queue: a worker on "mail" would get it. Its dependencies
	// never complete, so cancel it to see it was stored under its id.
	if _, stderr, code := naqAt(t, url, "job", "cancel", "--yes", "mail-1"); code != 0 {
		t.Fatalf("cancel: exit %d; stderr:\n%s", code, stderr)
	}
	if st, err := c.Status(jobTestCtx(t), "mail-1"); err != nil || st.State != naq.StateCancelled {
		t.Fatalf("status: %+v, %v", st, err)
	}
}

func TestEnqueueDelayed(t *testing.T) {
	url, c := jobTestServer(t)
	startMathWorker(t, c)
	out, stderr, code := naqAt(t, url, "enqueue", "math:add", "--args", "[20, 22]", "--in", "1s")
	id := strings.TrimSpace(out)
	if code != 0 || id == "" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
	}
	// Scheduled: known to status, no result yet. (It fires after a second; a
	// very slow run may already see it running, never completed.)
	out, stderr, code = naqAt(t, url, "job", "status", "--json", id)
	if st := jsonKeys(t, out); code != 0 || string(st["state"]) == `"completed"` {
		t.Fatalf("status right after --in 1s: exit %d, %s; stderr:\n%s", code, out, stderr)
	}
	out, stderr, code = naqAt(t, url, "job", "wait", id, "--wait-timeout", "60s")
	if code != 0 || strings.TrimSpace(out) != "42" {
		t.Fatalf("wait: exit %d, stdout %q; stderr:\n%s", code, out, stderr)
	}
	res, err := c.Result(jobTestCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if early := res.EnqueuedAt.Add(time.Second).Sub(res.StartedAt); early > 100*time.Millisecond {
		t.Fatalf("the job started %s before its time", early)
	}
}

func TestEnqueueUsageErrors(t *testing.T) {
	dead := "nats://127.0.0.1:1" // usage errors are found before connecting
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"enqueue", "f", "--args", `{"a": 1}`}, "JSON array"},
		{[]string{"enqueue", "f", "--args", `[1, 2`}, "JSON array"},
		{[]string{"enqueue", "f", "--args", `null`}, "JSON array"},
		{[]string{"enqueue", "f", "--kwargs", `[1]`}, "JSON object"},
		{[]string{"enqueue", "f", "--kwargs", `{"a":}`}, "JSON object"},
		{[]string{"enqueue", "f", "--at", "2030-01-02T08:00:00"}, "add Z"},
		{[]string{"enqueue", "f", "--at", "tomorrow"}, "RFC 3339"},
		{[]string{"enqueue", "f", "--at", "2300-01-01T00:00:00Z"}, "latest time the server can schedule"},
		{[]string{"enqueue", "f", "--in", "2100000h"}, "latest time the server can schedule"},
		{[]string{"enqueue", "f", "--at", "2030-01-02T08:00:00Z", "--in", "1m"}, "together"},
		{[]string{"enqueue", "f", "--retry-delay", "1s,soon"}, "retry-delay"},
		{[]string{"enqueue", "f", "--retry-strategy", "fibonacci"}, "strategy"},
		{[]string{"enqueue", "f", "--retries", "-1"}, "retries"},
		{[]string{"enqueue", "f", "--job-id", "has space"}, "invalid job"},
		{[]string{"enqueue", "f", "-q", "bad queue"}, "queue"},
		{[]string{"enqueue"}, ""},
	} {
		_, stderr, code := naqAt(t, dead, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("naq %v: exit %d (want 2), stderr should mention %q:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

func TestJobStatusResultCancel(t *testing.T) {
	url, c := jobTestServer(t)
	startMathWorker(t, c)
	ctx := jobTestCtx(t)
	done, err := c.Enqueue(ctx, "math:add", naq.Args{1, 1}, naq.MaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	awaitJobResult(t, c, done.ID)

	out, stderr, code := naqAt(t, url, "job", "status", "--json", done.ID)
	st := jsonKeys(t, out)
	if code != 0 || !hasKeys(st, "job_id", "state", "function", "queue_name", "attempts", "max_retries", "worker_id", "enqueued_at", "started_at", "finished_at") ||
		string(st["state"]) != `"completed"` || string(st["attempts"]) != "1" {
		t.Fatalf("status --json: exit %d, %s; stderr:\n%s", code, out, stderr)
	}
	out, _, code = naqAt(t, url, "job", "status", done.ID)
	if code != 0 || !strings.Contains(out, "completed") || !strings.Contains(out, "math:add") {
		t.Fatalf("status table: exit %d\n%s", code, out)
	}
	if out, stderr, code = naqAt(t, url, "job", "result", done.ID); code != 0 || strings.TrimSpace(out) != "2" {
		t.Fatalf("result: exit %d, %q; stderr:\n%s", code, out, stderr)
	}
	out, _, code = naqAt(t, url, "job", "result", "--json", done.ID)
	if r := jsonKeys(t, out); code != 0 || string(r["result"]) != "2" || string(r["status"]) != `"completed"` {
		t.Fatalf("result --json: exit %d, %s", code, out)
	}

	// Unknown ids.
	if _, stderr, code = naqAt(t, url, "job", "result", "no-such-job"); code != 1 || !strings.Contains(stderr, "no record of job no-such-job") {
		t.Fatalf("result of an unknown job: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code = naqAt(t, url, "job", "status", "no-such-job"); code != 1 || !strings.Contains(stderr, "no record of job no-such-job") {
		t.Fatalf("status of an unknown job: exit %d, stderr:\n%s", code, stderr)
	}
	if _, _, code = naqAt(t, url, "job", "result", "bad id!"); code != exitUsage {
		t.Fatalf("result of an invalid id: exit %d, want 2", code)
	}

	// A delayed job has not finished; wait gives up after --wait-timeout;
	// cancel finishes it; a second cancel is refused.
	later, err := c.EnqueueIn(ctx, time.Hour, "math:add", naq.Args{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code = naqAt(t, url, "job", "result", later.ID); code != 1 || !strings.Contains(stderr, "has not finished") {
		t.Fatalf("result of a delayed job: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code = naqAt(t, url, "job", "wait", later.ID, "--wait-timeout", "300ms"); code != 1 || !strings.Contains(stderr, "has not finished") {
		t.Fatalf("wait with a timeout: exit %d, stderr:\n%s", code, stderr)
	}
	out, stderr, code = naqAt(t, url, "job", "cancel", "--yes", "--json", later.ID)
	if m := jsonKeys(t, out); code != 0 || string(m["state"]) != `"cancelled"` {
		t.Fatalf("cancel: exit %d, %s; stderr:\n%s", code, out, stderr)
	}
	if _, stderr, code = naqAt(t, url, "job", "wait", later.ID); code != 1 || !strings.Contains(stderr, "cancelled") {
		t.Fatalf("wait for a cancelled job: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code = naqAt(t, url, "job", "cancel", "--yes", later.ID); code != 1 || !strings.Contains(stderr, "already finished") {
		t.Fatalf("second cancel: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code = naqAt(t, url, "job", "cancel", "--yes", done.ID); code != 1 || !strings.Contains(stderr, "already finished (completed)") {
		t.Fatalf("cancel of a completed job: exit %d, stderr:\n%s", code, stderr)
	}
}
