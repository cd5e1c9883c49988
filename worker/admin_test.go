package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

func TestFailedJobsListShowRequeueDelete(t *testing.T) {
	e := newEnv(t)
	var healthy atomic.Bool
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("maybe", func(ctx context.Context, j *naq.Job) (any, error) {
			if healthy.Load() {
				return "ok", nil
			}
			return nil, errors.New("down")
		})
	})
	var ids []string
	for range 3 {
		j, err := e.client.Enqueue(t.Context(), "maybe", nil, naq.MaxRetries(1), naq.Queue("naq_default_queue"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		if r := e.wait(t, id); r.Status != naq.StateFailed || r.Attempts != 2 {
			t.Fatalf("%+v", r)
		}
	}
	recs, err := e.client.ListFailed(t.Context(), "", 0)
	if err != nil || len(recs) != 3 {
		t.Fatalf("list: %d records, %v", len(recs), err)
	}
	// Listing consumed nothing.
	if again, _ := e.client.ListFailed(t.Context(), "naq_default_queue", 0); len(again) != 3 {
		t.Fatalf("second list: %d", len(again))
	}
	one, err := e.client.FailedJob(t.Context(), recs[0].Seq)
	if err != nil || one.JobID != recs[0].JobID || one.Error != "down" || one.Attempts != 2 {
		t.Fatalf("show: %+v %v", one, err)
	}
	healthy.Store(true)
	// Requeue one: it runs again with fresh attempts and leaves the stream.
	job, err := e.client.RequeueFailed(t.Context(), recs[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.wait(t, job.ID); r.Status != naq.StateCompleted || r.Attempts != 1 {
		t.Fatalf("requeued: %+v", r)
	}
	// Delete one, requeue the rest.
	if err := e.client.DeleteFailed(t.Context(), recs[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteFailed(t.Context(), recs[1].Seq); !errors.Is(err, naq.ErrJobNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	var calls int
	n, err := e.client.RequeueAllFailed(t.Context(), "", func(done, total int) { calls++ })
	if err != nil || n != 1 || calls != 1 {
		t.Fatalf("requeue all: %d %v (progress %d)", n, err, calls)
	}
	if r := e.wait(t, recs[2].JobID); r.Status != naq.StateCompleted {
		t.Fatalf("%+v", r)
	}
	if left, _ := e.client.ListFailed(t.Context(), "", 0); len(left) != 0 {
		t.Fatalf("%d records left", len(left))
	}
}

func TestPurgeFailedAndMalformedNotRequeueable(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {})
	for range 2 {
		if err := e.nc.Publish("naq.queue.naq_default_queue", []byte("not a job")); err != nil {
			t.Fatal(err)
		}
	}
	var recs []naq.FailedJob
	testutil.Eventually(t, 30*time.Second, "records", func() bool { recs, _ = e.client.ListFailed(t.Context(), "", 0); return len(recs) == 2 })
	if _, err := e.client.RequeueFailed(t.Context(), recs[0].Seq); !errors.Is(err, naq.ErrNotRequeueable) {
		t.Fatalf("requeue malformed: %v", err)
	}
	n, err := e.client.PurgeFailed(t.Context(), "naq_default_queue")
	if err != nil || n != 2 {
		t.Fatalf("purge: %d %v", n, err)
	}
}

func TestCancelPendingAndRunning(t *testing.T) {
	e := newEnv(t)
	started := make(chan string, 1)
	var ranPending atomic.Bool
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("block", func(ctx context.Context, j *naq.Job) (any, error) {
			started <- j.ID
			<-ctx.Done()
			if !errors.Is(context.Cause(ctx), naq.ErrCancelled) {
				return nil, errors.New("cancelled for the wrong reason")
			}
			return nil, ctx.Err()
		})
		w.HandleFunc("pending", func(ctx context.Context, j *naq.Job) (any, error) { ranPending.Store(true); return nil, nil })
	}, worker.WithConcurrency(1))
	running, _ := e.client.Enqueue(t.Context(), "block", nil, naq.MaxRetries(3))
	<-started
	// With the only slot taken, this one waits in the queue.
	pending, _ := e.client.Enqueue(t.Context(), "pending", nil)
	if err := e.client.Cancel(t.Context(), pending.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Cancel(t.Context(), running.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{running.ID, pending.ID} {
		r := e.wait(t, id)
		if r.Status != naq.StateCancelled {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	testutil.Eventually(t, 30*time.Second, "queue to drain", func() bool { return jobsLeft(t, e) == 0 })
	time.Sleep(200 * time.Millisecond)
	if ranPending.Load() {
		t.Fatal("cancelled pending job ran")
	}
	st, err := e.client.Status(t.Context(), running.ID)
	if err != nil || st.State != naq.StateCancelled {
		t.Fatalf("status %+v %v", st, err)
	}
	if err := e.client.Cancel(t.Context(), running.ID); !errors.Is(err, naq.ErrAlreadyFinished) {
		t.Fatalf("cancel twice: %v", err)
	}
}

func TestListWorkers(t *testing.T) {
	e := newEnv(t)
	ws, err := e.client.ListWorkers(t.Context())
	if err != nil || ws == nil || len(ws) != 0 {
		t.Fatalf("no workers: %v %v", ws, err)
	}
	e.startWorker(t, func(w *worker.Worker) {}, worker.WithQueues("a", "b"), worker.WithConcurrency(3))
	ws, err = e.client.ListWorkers(t.Context())
	if err != nil || len(ws) != 1 || ws[0].State != naq.WorkerIdle || ws[0].Stale || len(ws[0].Queues) != 2 {
		t.Fatalf("%+v %v", ws, err)
	}
}
