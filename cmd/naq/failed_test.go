package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// failedEnv has failed-job records made by a real worker: three jobs on queue
// fa, one on fb (handler error, no retries), and two malformed messages on fa
// (one not UTF-8, one plain text).
type failedEnv struct {
	*opsEnv
	failing *atomic.Bool
	ids     []string // the fa jobs, then the fb job
}

func newFailedEnv(t *testing.T) *failedEnv {
	t.Helper()
	e := &failedEnv{opsEnv: newOpsEnv(t), failing: &atomic.Bool{}}
	e.failing.Store(true)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("f:work", func(ctx context.Context, j *naq.Job) (any, error) {
			if e.failing.Load() {
				return nil, fmt.Errorf("boom: disk full\nsecond line of the error")
			}
			return "fixed", nil
		})
	}, worker.WithQueues("fa", "fb"))
	for _, q := range []string{"fa", "fa", "fa", "fb"} {
		j, err := e.client.Enqueue(t.Context(), "f:work", naq.Kwargs{"n": len(e.ids)}, naq.Queue(q))
		if err != nil {
			t.Fatal(err)
		}
		e.ids = append(e.ids, j.ID)
		var fe *naq.JobFailedError
		if _, err := e.client.Wait(t.Context(), j.ID); !errors.As(err, &fe) {
			t.Fatalf("job %s: %v, want a failure", j.ID, err)
		}
	}
	js := e.client.JetStream()
	for _, raw := range [][]byte{{0xff, 0xfe, 0x00, 'x'}, []byte("plain text, not a job")} {
		if _, err := js.Publish(t.Context(), "naq.queue.fa", raw); err != nil {
			t.Fatal(err)
		}
	}
	opsWaitFor(t, 10*time.Second, "6 failed records", func() bool {
		recs, err := e.client.ListFailed(t.Context(), "", 0)
		return err == nil && len(recs) == 6
	})
	return e
}

func (e *failedEnv) list(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	e.json(t, &recs, append([]string{"failed", "list"}, args...)...)
	return recs
}

func TestFailedListShow(t *testing.T) {
	e := newFailedEnv(t)
	out := e.ok(t, "failed", "list")
	for _, want := range []string{"SEQ", "JOB ID", "FUNCTION", "QUEUE", "ATTEMPTS", "FAILED AT", "ERROR", e.ids[0], "f:work", "boom: disk full …", "(malformed)"} {
		if !strings.Contains(out, want) {
			t.Errorf("failed list: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "second line") {
		t.Errorf("failed list shows more than the error's first line:\n%s", out)
	}
	recs := e.list(t)
	if len(recs) != 6 {
		t.Fatalf("failed list --json: %d records", len(recs))
	}
	opsHasKeys(t, "failed record", recs[0], "seq", "job_id", "function", "queue_name", "error", "attempts", "failed_at", "job")
	if recs[0]["job_id"] != e.ids[0] || recs[0]["queue_name"] != "fa" || recs[0]["attempts"] != float64(1) {
		t.Errorf("first record: %v", recs[0])
	}
	if n := len(e.list(t, "--queue", "fb")); n != 1 {
		t.Errorf("--queue fb: %d records", n)
	}
	if n := len(e.list(t, "-q", "fa", "--limit", "2")); n != 2 {
		t.Errorf("-q fa --limit 2: %d records", n)
	}
	e.exits(t, 2, "failed", "list", "--queue", "a.b")
	e.exits(t, 2, "failed", "list", "--limit", "-1")

	seq := fmt.Sprint(recs[0]["seq"])
	out = e.ok(t, "failed", "show", seq)
	for _, want := range []string{"seq:", "job id:", e.ids[0], "second line of the error", "error kind:", "worker:", `"function":"f:work"`} {
		if !strings.Contains(out, want) {
			t.Errorf("failed show %s: no %q in\n%s", seq, want, out)
		}
	}
	var one map[string]any
	e.json(t, &one, "failed", "show", seq)
	opsHasKeys(t, "failed show", one, "seq", "job_id", "error", "error_kind", "max_retries", "enqueued_at", "worker_id", "job", "subject", "stream_seq")

	// The malformed records: raw bytes as base64 (not UTF-8) or as text.
	var binSeq, textSeq string
	for _, r := range recs {
		if r["malformed"] == true {
			if strings.Contains(fmt.Sprint(r["raw_text"]), "plain text") {
				textSeq = fmt.Sprint(r["seq"])
			} else {
				binSeq = fmt.Sprint(r["seq"])
			}
		}
	}
	if binSeq == "" || textSeq == "" {
		t.Fatalf("malformed records not found: %v", recs)
	}
	if out := e.ok(t, "failed", "show", binSeq); !strings.Contains(out, "raw (base64):") || !strings.Contains(out, "//4AeA==") {
		t.Errorf("show of a binary malformed record:\n%s", out)
	}
	if out := e.ok(t, "failed", "show", textSeq); !strings.Contains(out, "raw (text):") || !strings.Contains(out, "plain text, not a job") {
		t.Errorf("show of a text malformed record:\n%s", out)
	}

	if errOut := e.exits(t, 1, "failed", "show", "9999"); !strings.Contains(errOut, "no failed-job record 9999") {
		t.Errorf("show of a missing record: %s", errOut)
	}
	// By the job id a user has, as well as by record sequence.
	if out := e.ok(t, "failed", "show", e.ids[3]); !strings.Contains(out, "job id:") || !strings.Contains(out, e.ids[3]) ||
		!strings.Contains(out, "queue:") || !strings.Contains(out, "fb") {
		t.Errorf("failed show JOB_ID:\n%s", out)
	}
	if errOut := e.exits(t, 1, "failed", "show", "abc"); !strings.Contains(errOut, "no failed-job record of job abc") {
		t.Errorf("show of an unknown job id: %s", errOut)
	}
	e.exits(t, 2, "failed", "show", "bad id!")
	e.exits(t, 2, "failed", "show")
}

func TestFailedRequeue(t *testing.T) {
	e := newFailedEnv(t)
	recs := e.list(t)
	e.failing.Store(false)

	seq := fmt.Sprint(recs[0]["seq"])
	out := e.ok(t, "failed", "requeue", seq)
	if !strings.Contains(out, "requeued record "+seq+": job "+e.ids[0]+" on queue fa") {
		t.Errorf("requeue: %s", out)
	}
	res, err := e.client.Wait(t.Context(), e.ids[0])
	if err != nil || res.Status != naq.StateCompleted {
		t.Fatalf("requeued job: %v %v", res, err)
	}
	e.exits(t, 1, "failed", "requeue", seq) // gone now

	// A malformed record cannot be requeued.
	for _, r := range recs {
		if r["malformed"] == true {
			if errOut := e.exits(t, 1, "failed", "requeue", fmt.Sprint(r["seq"])); !strings.Contains(errOut, "cannot be requeued") {
				t.Errorf("requeue of a malformed record: %s", errOut)
			}
			break
		}
	}

	// --all of one queue: requeues fb's job only.
	var all map[string]any
	e.json(t, &all, "failed", "requeue", "--all", "--queue", "fb")
	if all["requeued"] != float64(1) {
		t.Errorf("requeue --all --queue fb: %v", all)
	}
	if res, err := e.client.Wait(t.Context(), e.ids[3]); err != nil || res.Status != naq.StateCompleted {
		t.Fatalf("requeued fb job: %v %v", res, err)
	}
	// --all of every queue: two jobs requeued, the malformed records stay and
	// are reported (exit 1). Stderr is not a terminal: no progress bar, no
	// carriage returns; the final count is on stdout.
	out, errOut, code := e.run(t, "failed", "requeue", "--all")
	if code != 1 || !strings.Contains(out, "requeued 2 failed jobs") || strings.Contains(errOut, "\r") ||
		!strings.Contains(errOut, "not requeued") {
		t.Errorf("requeue --all: exit %d\n%s\n%q", code, out, errOut)
	}
	for _, id := range e.ids[1:3] {
		if res, err := e.client.Wait(t.Context(), id); err != nil || res.Status != naq.StateCompleted {
			t.Fatalf("requeued job %s: %v %v", id, res, err)
		}
	}
	if n := len(e.list(t)); n != 2 {
		t.Errorf("%d records left, want the 2 malformed ones", n)
	}

	e.exits(t, 2, "failed", "requeue")
	e.exits(t, 2, "failed", "requeue", "1", "--all")
	e.exits(t, 2, "failed", "requeue", "1", "--queue", "fa")
	e.exits(t, 2, "failed", "requeue", "x")
}

func TestFailedDeletePurge(t *testing.T) {
	e := newFailedEnv(t)
	recs := e.list(t)
	seq := fmt.Sprint(recs[0]["seq"])
	if _, errOut, code := e.runPiped(t, "", "failed", "delete", seq); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("delete without --yes: exit %d %s", code, errOut)
	}
	if out := e.ok(t, "failed", "delete", seq, "--yes"); !strings.Contains(out, "deleted 1 failed-job record") {
		t.Errorf("delete: %s", out)
	}
	if errOut := e.exits(t, 1, "failed", "delete", seq, "--yes"); !strings.Contains(errOut, "no failed-job record") {
		t.Errorf("second delete: %s", errOut)
	}
	e.exits(t, 2, "failed", "delete", "nope", "--yes")

	if _, errOut, code := e.runPiped(t, "", "failed", "purge", "--queue", "fb"); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("purge without --yes: exit %d %s", code, errOut)
	}
	if out := e.ok(t, "failed", "purge", "--queue", "fb", "--yes"); !strings.Contains(out, "purged 1 failed-job record") {
		t.Errorf("purge --queue fb: %s", out)
	}
	var res map[string]any
	e.json(t, &res, "failed", "purge", "--yes")
	if res["purged"] != float64(4) {
		t.Errorf("purge --json: %v", res)
	}
	if out := e.ok(t, "failed", "list"); !strings.Contains(out, "no failed jobs") {
		t.Errorf("list after purge: %s", out)
	}
	var none []map[string]any
	e.json(t, &none, "failed", "list")
	if none == nil || len(none) != 0 {
		t.Errorf("list --json after purge: %v", none)
	}
	e.exits(t, 2, "failed", "purge", "--queue", "x y", "--yes")
}
