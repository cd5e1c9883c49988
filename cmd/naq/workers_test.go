package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

func TestWorkersNone(t *testing.T) {
	e := newOpsEnv(t)
	if out := e.ok(t, "workers"); strings.TrimSpace(out) != "no workers" {
		t.Errorf("workers with none: %q", out)
	}
	if out := e.ok(t, "workers", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("workers --json with none: %q", out)
	}
	e.exits(t, 2, "workers", "extra")
}

func TestWorkersOneRunning(t *testing.T) {
	e := newOpsEnv(t)
	release := make(chan struct{})
	w, stop := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("w:block", func(ctx context.Context, _ *naq.Job) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return "ok", nil
		})
	}, worker.WithQueues("wq1", "wq2"), worker.WithName("ops-test"), worker.WithHeartbeatInterval(200*time.Millisecond))
	_ = w
	j, err := e.client.Enqueue(t.Context(), "w:block", nil, naq.Queue("wq1"))
	if err != nil {
		t.Fatal(err)
	}
	var ws []map[string]any
	opsWaitFor(t, 15*time.Second, "the running job in the heartbeat", func() bool {
		ws = nil
		e.json(t, &ws, "workers")
		if len(ws) != 1 {
			return false
		}
		jobs, _ := ws[0]["running_jobs"].([]any)
		return len(jobs) == 1 && jobs[0] == j.ID
	})
	opsHasKeys(t, "worker", ws[0], "worker_id", "hostname", "pid", "queues", "concurrency", "status", "running_jobs",
		"processed", "failed", "started_at", "last_heartbeat", "heartbeat_interval_ns", "stale")
	if ws[0]["status"] != "busy" || ws[0]["stale"] != false || !strings.HasPrefix(ws[0]["worker_id"].(string), "ops-test-") {
		t.Errorf("worker record: %v", ws[0])
	}
	out := e.ok(t, "workers")
	for _, want := range []string{"ID", "STATE", "QUEUES", "RUNNING JOBS", "PROCESSED", "FAILED", "LAST HEARTBEAT", "STALE",
		ws[0]["worker_id"].(string), "busy", "wq1,wq2", "1 (" + j.ID + ")", " ago", "no"} {
		if !strings.Contains(out, want) {
			t.Errorf("workers: no %q in\n%s", want, out)
		}
	}
	// Per queue: the running job is wq1's; wq2 has none.
	byQueue := e.ok(t, "workers", "--by-queue")
	if !queueLine(byQueue, "wq1", "0", "0", "0", "1") || !queueLine(byQueue, "wq2", "0", "0", "0", "0") {
		t.Errorf("workers --by-queue while the job runs:\n%s", byQueue)
	}
	close(release)
	if _, err := e.client.Wait(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	opsWaitFor(t, 15*time.Second, "processed 1", func() bool {
		ws = nil
		e.json(t, &ws, "workers")
		return len(ws) == 1 && ws[0]["processed"] == float64(1) && ws[0]["status"] == "idle"
	})
	stats, _ := ws[0]["queue_stats"].(map[string]any)
	if wq1, _ := stats["wq1"].(map[string]any); wq1["processed"] != float64(1) || wq1["in_flight"] != float64(0) {
		t.Errorf("queue_stats after the job: %v", stats)
	}
	if byQueue := e.ok(t, "workers", "--by-queue"); !queueLine(byQueue, "wq1", "1", "0", "0", "0") {
		t.Errorf("workers --by-queue after the job:\n%s", byQueue)
	}
	// A worker that stops removes its record.
	stop()
	if out := e.ok(t, "workers"); strings.TrimSpace(out) != "no workers" {
		t.Errorf("workers after the worker stopped: %q", out)
	}
}

// queueLine reports whether the --by-queue table has a line for queue q with
// these processed, failed, retried and in-flight counts.
func queueLine(table, q string, counts ...string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == q && slices.Equal(f[2:6], counts) {
			return true
		}
	}
	return false
}
