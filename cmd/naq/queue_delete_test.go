package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// Item: 'naq queue delete' removes a queue's jobs and consumer, after asking;
// an unknown queue is refused.
func TestQueueDelete(t *testing.T) {
	e := newOpsEnv(t)
	enqueueN(t, e, "doomed", 3)
	enqueueN(t, e, "kept", 1)
	e.ok(t, "queue", "pause", "doomed") // makes its consumer
	if errOut := e.exits(t, 2, "queue", "delete", "doomed"); !strings.Contains(errOut, "not confirmed") {
		t.Errorf("delete without an answer: %s", errOut)
	}
	if errOut := e.exits(t, 1, "queue", "delete", "doomd", "--yes"); !strings.Contains(errOut, "queue doomd does not exist") {
		t.Errorf("delete of an unknown queue: %s", errOut)
	}
	if out, errOut, code := e.runPiped(t, "y\n", "queue", "delete", "doomed"); code != 0 || !strings.Contains(out, "deleted queue doomed (3 jobs removed)") {
		t.Errorf("echo y | naq queue delete: exit %d: %s %s", code, out, errOut)
	}
	out := e.ok(t, "queue", "list")
	if strings.Contains(out, "doomed") || !strings.Contains(out, "kept") {
		t.Errorf("queue list after delete:\n%s", out)
	}
	e.exits(t, 2, "queue", "delete", "bad queue", "--yes")
}

// Item: after 'naq queue resume', a job that waited on the paused queue starts
// at once, not when the worker's open pull request runs out (up to its 5 s
// poll wait): the worker learns of the resume from the server's advisory.
func TestQueueResumeStartsWaitingJobAtOnce(t *testing.T) {
	e := newOpsEnv(t)
	started := make(chan time.Time, 1)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("r:job", func(context.Context, *naq.Job) (any, error) { started <- time.Now(); return nil, nil })
	}, worker.WithQueues("resumable"), worker.WithPollWait(5*time.Second))
	opsWaitFor(t, 20*time.Second, "the worker's consumer", func() bool {
		return strings.Contains(e.ok(t, "queue", "list"), "resumable")
	})
	e.ok(t, "queue", "pause", "resumable")
	if _, err := e.client.Enqueue(t.Context(), "r:job", nil, naq.Queue("resumable")); err != nil {
		t.Fatal(err)
	}
	// Long enough for the worker's idle request to be a fresh one, open
	// against the paused consumer.
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-started:
		t.Fatal("a job ran on a paused queue")
	default:
	}
	e.ok(t, "queue", "resume", "resumable")
	resumed := time.Now()
	select {
	case at := <-started:
		// The old behaviour waited out the open request: up to 5 s.
		if d := at.Sub(resumed); d > 2500*time.Millisecond {
			t.Errorf("the job started %s after resume", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the job never started after resume")
	}
}
