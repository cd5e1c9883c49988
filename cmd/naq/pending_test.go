package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// Item: a job waiting in its queue is knowable. 'naq enqueue' writes its
// pending record, so 'naq job status' knows it at once; a job of a producer
// that writes none is reported for what it is; cancel of an unknown id is
// refused; --wait on a queue nobody serves says so.
func TestPendingJobIsKnown(t *testing.T) {
	e := newOpsEnv(t)
	id := strings.TrimSpace(e.ok(t, "enqueue", "report:build", "-q", "nobody"))
	out := e.ok(t, "job", "status", id)
	for _, want := range []string{"state:", "pending", "queue:", "nobody", "function:", "report:build", "enqueued at:"} {
		if !strings.Contains(out, want) {
			t.Errorf("job status of a waiting job: no %q in\n%s", want, out)
		}
	}
	var st map[string]any
	e.json(t, &st, "job", "status", id)
	if st["state"] != "pending" {
		t.Errorf("job status --json: %v", st)
	}

	// A job from a Go producer without pending records: not known, and the
	// message says why it may still exist.
	quiet, err := e.client.Enqueue(t.Context(), "x", nil, naq.Queue("nobody"))
	if err != nil {
		t.Fatal(err)
	}
	if errOut := e.exits(t, 1, "job", "status", quiet.ID); !strings.Contains(errOut, "no record of job "+quiet.ID) ||
		!strings.Contains(errOut, "no worker has picked it up yet") {
		t.Errorf("job status of a job without a record: %s", errOut)
	}

	// Cancel of an id naq knows nothing of: refused, exit 1, nothing said cancelled.
	out, errOut, code := e.run(t, "job", "cancel", "nosuchjob", "--yes")
	if code != 1 || strings.Contains(out, "cancelled") || !strings.Contains(errOut, "nothing cancelled") || !strings.Contains(errOut, "--force") {
		t.Errorf("cancel of an unknown job: exit %d\n%s\n%s", code, out, errOut)
	}
	// --force cancels the job that has no record.
	if out := e.ok(t, "job", "cancel", quiet.ID, "--yes", "--force"); !strings.Contains(out, "cancelled job "+quiet.ID) {
		t.Errorf("cancel --force: %s", out)
	}
	// Cancel asks first: no answer refuses, "y" from a pipe confirms.
	if errOut := e.exits(t, 2, "job", "cancel", id); !strings.Contains(errOut, "not confirmed") {
		t.Errorf("cancel without an answer: %s", errOut)
	}
	if _, errOut, code := e.runPiped(t, "y\n", "job", "cancel", id); code != 0 {
		t.Errorf("echo y | naq job cancel: exit %d: %s", code, errOut)
	}
	if out := e.ok(t, "job", "status", id); !strings.Contains(out, "cancelled") {
		t.Errorf("status after cancel:\n%s", out)
	}

	// --wait on a queue no worker has ever served: a note at once, and the
	// timeout says why.
	_, errOut, code = e.run(t, "enqueue", "x", "-q", "nobody", "--wait", "--wait-timeout", "1s")
	if code != 1 || !strings.Contains(errOut, "note: no worker has ever run on queue nobody") ||
		!strings.Contains(errOut, "has not finished after 1s: no worker has ever run on queue nobody") {
		t.Errorf("--wait on a queue without workers: exit %d\n%s", code, errOut)
	}
	// A paused queue says it is paused.
	e.ok(t, "queue", "pause", "nobody")
	if _, errOut, _ := e.run(t, "job", "wait", id+"x", "--wait-timeout", "1s"); strings.Contains(errOut, "note:") {
		t.Errorf("wait for an unknown job gave a queue note: %s", errOut)
	}
	jid := strings.TrimSpace(e.ok(t, "enqueue", "x", "-q", "nobody"))
	if _, errOut, _ := e.run(t, "job", "wait", jid, "--wait-timeout", "1s"); !strings.Contains(errOut, "queue nobody is paused") {
		t.Errorf("wait on a paused queue: %s", errOut)
	}
	e.ok(t, "queue", "resume", "nobody")

	// With a worker serving the queue, no note.
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("x", func(_ context.Context, _ *naq.Job) (any, error) { return "ok", nil })
	}, worker.WithQueues("served"))
	opsWaitFor(t, 20*time.Second, "the worker's record", func() bool {
		ws, err := e.client.ListWorkers(t.Context())
		return err == nil && len(ws) == 1
	})
	out, errOut, code = e.run(t, "enqueue", "x", "-q", "served", "--wait", "--wait-timeout", "30s")
	if code != 0 || strings.Contains(errOut, "note:") || !strings.Contains(out, `"ok"`) {
		t.Errorf("--wait with a worker: exit %d\n%s\n%s", code, out, errOut)
	}
}

// Item: the obvious flag does the obvious thing: --timeout on enqueue is the
// job's timeout; the request timeout is --request-timeout.
func TestEnqueueTimeoutIsTheJobs(t *testing.T) {
	e := newOpsEnv(t)
	out := e.ok(t, "enqueue", "f", "--timeout", "30s", "--request-timeout", "5s", "--json")
	var got struct {
		Job struct {
			Timeout float64 `json:"timeout"`
		} `json:"job"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Job.Timeout != 30 {
		t.Errorf("enqueue --timeout 30s: job timeout %v (%v)\n%s", got.Job.Timeout, err, out)
	}
	// The old name still works, and says what the new one is.
	out, errOut, code := e.run(t, "enqueue", "f", "--job-timeout", "20s", "--json")
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Job.Timeout != 20 || !strings.Contains(errOut, "now --timeout") {
		t.Errorf("enqueue --job-timeout: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	e.exits(t, 2, "enqueue", "f", "--timeout", "-1s")
	e.exits(t, 2, "enqueue", "f", "--timeout", "1s", "--job-timeout", "2s")
	if help := e.ok(t, "enqueue", "--help"); !strings.Contains(help, "--timeout duration") || !strings.Contains(help, "--request-timeout") {
		t.Errorf("enqueue --help does not document --timeout and --request-timeout:\n%s", help)
	}
}

// Item: a duplicate --job-id is reported, and the first job stands.
func TestEnqueueDuplicateJobID(t *testing.T) {
	e := newOpsEnv(t)
	out, errOut, code := e.run(t, "enqueue", "mail:send", "--job-id", "once", "--args", `["first"]`)
	if code != 0 || strings.TrimSpace(out) != "once" || errOut != "" {
		t.Fatalf("first enqueue: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code = e.run(t, "enqueue", "mail:send", "--job-id", "once", "--args", `["second"]`)
	if code != 0 || strings.TrimSpace(out) != "once" || !strings.Contains(errOut, "job once was already enqueued") ||
		!strings.Contains(errOut, "nothing new was enqueued") {
		t.Errorf("duplicate enqueue: exit %d %q\n%s", code, out, errOut)
	}
	var dup map[string]any
	e.json(t, &dup, "enqueue", "mail:send", "--job-id", "once")
	if dup["duplicate"] != true {
		t.Errorf("duplicate enqueue --json: %v", dup)
	}
	var fresh map[string]any
	e.json(t, &fresh, "enqueue", "mail:send", "--job-id", "other")
	if fresh["duplicate"] != false {
		t.Errorf("new enqueue --json: %v", fresh)
	}
	// One job on the queue, with the first arguments.
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", naq.DefaultQueue, "--interval", "0")
	if stats[0]["pending"] != float64(2) {
		t.Errorf("pending jobs: %v, want 2 (once and other)", stats[0]["pending"])
	}
}
