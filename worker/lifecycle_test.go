package worker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

func TestDependencyChainRunsInOrder(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var order []string
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("step", func(ctx context.Context, j *naq.Job) (any, error) {
			var name string
			_ = j.Bind(&name)
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return name, nil
		})
	}, worker.WithConcurrency(4))
	// Enqueue the chain backwards so the dependents arrive first and must wait.
	ids := []string{"chain-a", "chain-b", "chain-c"}
	c, _ := naq.NewJob("step", "c", naq.JobID(ids[2]), naq.DependsOn(ids[1]))
	b, _ := naq.NewJob("step", "b", naq.JobID(ids[1]), naq.DependsOn(ids[0]))
	a, _ := naq.NewJob("step", "a", naq.JobID(ids[0]))
	for _, j := range []*naq.Job{c, b, a} {
		if err := e.client.EnqueueJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if r := e.wait(t, id); r.Status != naq.StateCompleted || r.Attempts != 1 {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 || order[0] != "a" || order[1] != "b" || order[2] != "c" {
		t.Fatalf("order %v", order)
	}
}

func TestFailedDependencyCascades(t *testing.T) {
	e := newEnv(t)
	var ran atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("fail", func(ctx context.Context, j *naq.Job) (any, error) { return nil, errors.New("broken") })
		w.HandleFunc("never", func(ctx context.Context, j *naq.Job) (any, error) { ran.Add(1); return nil, nil })
	})
	root, _ := e.client.Enqueue(t.Context(), "fail", nil)
	mid, _ := e.client.Enqueue(t.Context(), "never", nil, naq.DependsOn(root.ID), naq.MaxRetries(3))
	leaf, _ := e.client.Enqueue(t.Context(), "never", nil, naq.DependsOn(mid.ID))
	for _, id := range []string{root.ID, mid.ID, leaf.ID} {
		if r := e.wait(t, id); r.Status != naq.StateFailed {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	r := e.wait(t, leaf.ID)
	if *r.Error != "dependency "+mid.ID+" failed or was cancelled" || r.ErrorKind != worker.KindDependencyFailed {
		t.Fatalf("leaf error %q (%s)", *r.Error, r.ErrorKind)
	}
	if ran.Load() != 0 {
		t.Fatalf("dependents ran %d times", ran.Load())
	}
}

func TestMissingDependencyTimesOut(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("x", func(ctx context.Context, j *naq.Job) (any, error) { return nil, nil })
	}, worker.WithDependencyTimeout(300*time.Millisecond))
	job, _ := e.client.Enqueue(t.Context(), "x", nil, naq.DependsOn("never-enqueued"))
	r := e.wait(t, job.ID)
	if r.Status != naq.StateFailed || r.ErrorKind != worker.KindDependencyTimeout {
		t.Fatalf("%+v", r)
	}
}

func TestLongJobRunsOnceWithShortAckWait(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10 s")
	}
	e := newEnv(t)
	var calls atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("long", func(ctx context.Context, j *naq.Job) (any, error) {
			calls.Add(1)
			select {
			case <-time.After(10 * time.Second): // ten times the ack wait
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return "done", nil
		})
	}, worker.WithAckWait(time.Second), worker.WithConcurrency(2))
	job, _ := e.client.Enqueue(t.Context(), "long", nil)
	// Meanwhile the job shows as running.
	testutil.Eventually(t, 30*time.Second, "the running status", func() bool {
		st, err := e.client.Status(t.Context(), job.ID)
		return err == nil && st.State == naq.StateRunning
	})
	if r := e.wait(t, job.ID); r.Status != naq.StateCompleted {
		t.Fatalf("%+v", r)
	}
	time.Sleep(1500 * time.Millisecond) // past one more ack wait: no redelivery
	if calls.Load() != 1 {
		t.Fatalf("long job ran %d times", calls.Load())
	}
}

func TestShutdownWaitsForRunningJobs(t *testing.T) {
	// The server and connection live in a subtest, so they are gone when the
	// leak check runs: what remains would be the worker's.
	ignore := goleak.IgnoreCurrent()
	t.Run("shutdown", testShutdownWaitsForRunningJobs)
	goleak.VerifyNone(t, ignore)
}

func testShutdownWaitsForRunningJobs(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 3)
	var finished atomic.Int32
	_, stop := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("work", func(ctx context.Context, j *naq.Job) (any, error) {
			started <- struct{}{}
			time.Sleep(300 * time.Millisecond)
			finished.Add(1)
			return nil, nil
		})
	}, worker.WithConcurrency(3))
	var ids []string
	for range 3 {
		j, _ := e.client.Enqueue(t.Context(), "work", nil)
		ids = append(ids, j.ID)
	}
	for range 3 {
		<-started
	}
	stop()
	if finished.Load() != 3 {
		t.Fatalf("%d of 3 running jobs finished before Run returned", finished.Load())
	}
	for _, id := range ids {
		if r, err := e.client.Result(t.Context(), id); err != nil || r.Status != naq.StateCompleted {
			t.Fatalf("%s: %+v %v", id, r, err)
		}
	}
	if n := len(listWorkers(t, e)); n != 0 {
		t.Fatalf("%d worker records left after shutdown", n)
	}
}

func TestShutdownTimeoutCancelsAndRequeues(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	var calls atomic.Int32
	_, stop := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("stuck", func(ctx context.Context, j *naq.Job) (any, error) {
			if calls.Add(1) == 1 {
				started <- struct{}{}
				<-ctx.Done() // only the shutdown timeout ends this one
				return nil, ctx.Err()
			}
			return "second run", nil
		})
	}, worker.WithShutdownTimeout(200*time.Millisecond))
	job, _ := e.client.Enqueue(t.Context(), "stuck", nil, naq.MaxRetries(0))
	<-started
	stop()
	// The cancelled job was put back at once, not failed: a new worker runs it.
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("stuck", func(ctx context.Context, j *naq.Job) (any, error) { calls.Add(1); return "second run", nil })
	})
	var out string
	if err := e.wait(t, job.ID).Decode(&out); err != nil || out != "second run" {
		t.Fatalf("%q %v", out, err)
	}
}
