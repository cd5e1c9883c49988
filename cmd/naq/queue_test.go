package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

func enqueueN(t *testing.T, e *opsEnv, queue string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for range n {
		j, err := e.client.Enqueue(t.Context(), "q:job", nil, naq.Queue(queue))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// Jobs enqueued with no worker are pending; list and stats show them.
func TestQueueListAndStatsWithoutWorker(t *testing.T) {
	e := newOpsEnv(t)
	if out := e.ok(t, "queue", "list"); !strings.Contains(out, "no queues") {
		t.Errorf("queue list on an empty server:\n%s", out)
	}
	var none []map[string]any
	e.json(t, &none, "queue", "list")
	if none == nil || len(none) != 0 {
		t.Errorf("queue list --json on an empty server: %v", none)
	}
	enqueueN(t, e, "alpha", 5)
	enqueueN(t, e, "beta", 2)

	out := e.ok(t, "queue", "list")
	for _, want := range []string{"QUEUE", "MESSAGES", "alpha", "beta", "no consumer"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue list: no %q in\n%s", want, out)
		}
	}
	var list []map[string]any
	e.json(t, &list, "queue", "list")
	if len(list) != 2 || list[0]["queue"] != "alpha" || list[0]["messages"] != float64(5) || list[1]["pending"] != float64(2) {
		t.Errorf("queue list --json: %v", list)
	}

	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", "alpha", "--interval", "0")
	if len(stats) != 1 {
		t.Fatalf("stats: %v", stats)
	}
	s := stats[0]
	opsHasKeys(t, "queue stats", s, "queue", "messages", "pending", "running", "redelivered", "waiting_pulls", "consumer", "paused", "workers")
	if s["pending"] != float64(5) || s["running"] != float64(0) || s["consumer"] != false || s["workers"] != float64(0) {
		t.Errorf("stats of alpha: %v", s)
	}
	if _, ok := s["rate"]; ok {
		t.Errorf("--interval 0 gave a rate: %v", s)
	}
	out = e.ok(t, "queue", "stats", "alpha", "nothing-here", "--interval", "0")
	for _, want := range []string{"PENDING", "RUNNING", "REDELIVERED", "alpha", "nothing-here"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue stats: no %q in\n%s", want, out)
		}
	}
	e.exits(t, 2, "queue", "stats", "bad.name")
	e.exits(t, 2, "queue", "stats", "--interval", "-1s")
	e.exits(t, 2, "queue", "bogus")
}

// Stats of a queue being worked: running jobs, the worker, and a rate.
func TestQueueStatsWithWorker(t *testing.T) {
	e := newOpsEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("q:job", func(ctx context.Context, _ *naq.Job) (any, error) {
			time.Sleep(50 * time.Millisecond)
			return nil, nil
		})
	}, worker.WithQueues("busy"), worker.WithConcurrency(4), worker.WithHeartbeatInterval(200*time.Millisecond))
	ids := enqueueN(t, e, "busy", 200)
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", "busy", "--interval", "1s")
	s := stats[0]
	if s["consumer"] != true || s["workers"] != float64(1) {
		t.Errorf("stats: %v", s)
	}
	if r, _ := s["rate"].(float64); r <= 0 || r > 200 {
		t.Errorf("rate %v with 4 slots of 50 ms jobs (want about 80/s): %v", s["rate"], s)
	}
	// running is the consumer's ack pending: the 4 jobs in slots and the
	// finished ones whose ack still waits for their result's write, which
	// a loaded machine can hold for a while; never the backlog.
	if run, _ := s["running"].(float64); run >= 200 {
		t.Errorf("running %v counts the backlog of 200 (4 slots)", run)
	}
	out := e.ok(t, "queue", "stats", "--interval", "200ms")
	if !strings.Contains(out, "busy") || !strings.Contains(out, "/s") || !strings.Contains(out, "active") {
		t.Errorf("queue stats (all queues):\n%s", out)
	}
	if _, err := e.client.Wait(t.Context(), ids[len(ids)-1]); err != nil {
		t.Fatal(err)
	}
}

func TestQueuePurge(t *testing.T) {
	e := newOpsEnv(t)
	enqueueN(t, e, "gone", 3)
	enqueueN(t, e, "kept", 1)
	// No answer on stdin (/dev/null): refused, exit 2; "n" from a pipe: not
	// confirmed, exit 1; nothing purged either way.
	if errOut := e.exits(t, 2, "queue", "purge", "gone"); !strings.Contains(errOut, "--yes") {
		t.Errorf("purge without an answer: %s", errOut)
	}
	if _, errOut, code := e.runPiped(t, "n\n", "queue", "purge", "gone"); code != 1 || !strings.Contains(errOut, "not confirmed") {
		t.Errorf("purge answered n: exit %d: %s", code, errOut)
	}
	// "y" from a pipe confirms, as on a terminal.
	if out, errOut, code := e.runPiped(t, "y\n", "queue", "purge", "gone"); code != 0 || !strings.Contains(out, "purged 3 jobs from queue gone") {
		t.Errorf("echo y | naq queue purge: exit %d: %s %s", code, out, errOut)
	}
	var res map[string]any
	e.json(t, &res, "queue", "purge", "gone", "--yes")
	if res["purged"] != float64(0) || res["queue"] != "gone" {
		t.Errorf("second purge --json: %v", res)
	}
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", "kept", "--interval", "0")
	if stats[0]["pending"] != float64(1) {
		t.Errorf("purge of another queue touched kept: %v", stats)
	}
	e.exits(t, 2, "queue", "purge", "no.dots", "--yes")
	e.exits(t, 2, "queue", "purge")
}

// A paused queue keeps its jobs while a worker runs, also after the worker
// (re)provisions the consumer; resuming lets the worker take them.
func TestQueuePauseResume(t *testing.T) {
	e := newOpsEnv(t)
	// A queue naq has never seen is refused (a typo must not create a paused
	// consumer); --force pauses it before any worker ran, creating the consumer.
	if errOut := e.exits(t, 1, "queue", "pause", "held"); !strings.Contains(errOut, "does not exist") || !strings.Contains(errOut, "--force") {
		t.Errorf("pause of an unknown queue: %s", errOut)
	}
	if out := e.ok(t, "queue", "list"); strings.Contains(out, "held") {
		t.Errorf("a refused pause created the queue:\n%s", out)
	}
	if out := e.ok(t, "queue", "pause", "held", "--force"); !strings.Contains(out, "queue held paused until resumed") {
		t.Errorf("pause: %s", out)
	}
	var ran atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("q:job", func(context.Context, *naq.Job) (any, error) { ran.Add(1); return "done", nil })
	}, worker.WithQueues("held"))
	ids := enqueueN(t, e, "held", 3)
	time.Sleep(1500 * time.Millisecond)
	if n := ran.Load(); n != 0 {
		t.Fatalf("%d jobs ran on a paused queue (the worker's consumer provisioning un-paused it?)", n)
	}
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", "held", "--interval", "0")
	if s := stats[0]; s["paused"] != true || s["pending"] != float64(3) || s["running"] != float64(0) {
		t.Errorf("stats of a paused queue: %v", s)
	}
	if out := e.ok(t, "queue", "list"); !strings.Contains(out, "paused") {
		t.Errorf("queue list does not say paused:\n%s", out)
	}
	if out := e.ok(t, "queue", "resume", "held"); !strings.Contains(out, "queue held resumed") {
		t.Errorf("resume: %s", out)
	}
	for _, id := range ids {
		if _, err := e.client.Wait(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	// A timed pause, JSON.
	var st []map[string]any
	e.json(t, &st, "queue", "pause", "held", "--for", "1h")
	if len(st) != 1 || st[0]["paused"] != true || st[0]["paused_until"] == nil {
		t.Errorf("pause --for --json: %v", st)
	}
	until, _ := time.Parse(time.RFC3339, st[0]["paused_until"].(string))
	if d := time.Until(until); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("paused until %s, want in an hour", until)
	}
	if out := e.ok(t, "queue", "stats", "held", "--interval", "0"); !strings.Contains(out, "paused until") {
		t.Errorf("stats of a timed pause:\n%s", out)
	}
	at := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	if out := e.ok(t, "queue", "pause", "held", "--until", at); !strings.Contains(out, "paused until") {
		t.Errorf("pause --until: %s", out)
	}
	e.ok(t, "queue", "resume", "held")

	e.exits(t, 2, "queue", "pause", "held", "--until", "tomorrow")
	e.exits(t, 2, "queue", "pause", "held", "--until", "2001-01-01T00:00:00Z")
	e.exits(t, 2, "queue", "pause", "held", "--for", "1h", "--until", at)
	e.exits(t, 2, "queue", "pause")
	e.exits(t, 2, "queue", "pause", "bad queue")
	if errOut := e.exits(t, 1, "queue", "resume", "never-worked"); !strings.Contains(errOut, "no consumer") {
		t.Errorf("resume of a queue without a consumer: %s", errOut)
	}
}

// A command that finds no server exits 1.
func TestQueueNoServer(t *testing.T) {
	_, errOut, code := runNaq(t, []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}, "queue", "list", "--request-timeout", "2s")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	if errOut == "" {
		t.Error("no error message")
	}
}
