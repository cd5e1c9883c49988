package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker"
)

// A result over the server's max payload fails the job once, with its own
// kind and a failed-job record, instead of running it again and again.
func TestResultTooLargeFailsOnce(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	calls := 0
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("big", func(context.Context, *naq.Job) (any, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			return strings.Repeat("x", 1100<<10), nil
		})
	})
	job, err := e.client.Enqueue(t.Context(), "big", nil, naq.MaxRetries(3))
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || res.ErrorKind != worker.KindResultTooLarge {
		t.Fatalf("result: %s %s %v", res.Status, res.ErrorKind, res.Error)
	}
	// The failed-job record is written beside the result, not before it.
	testutil.Eventually(t, 10*time.Second, "the failed-job record", func() bool {
		recs, err := e.client.ListFailed(t.Context(), "", 0)
		return err == nil && len(recs) == 1 && recs[0].ErrorKind == worker.KindResultTooLarge
	})
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("handler ran %d times, want once", calls)
	}
}

// While results cannot be stored (here: the results bucket is gone, as when
// no server answers for it during an election), a worker keeps what its jobs
// produced and writes it again until it is stored, and takes no new jobs
// meanwhile; no job runs twice.
func TestResultsKeptUntilTheyCanBeStored(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	calls := map[string]int{}
	ran := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range calls {
			n += c
		}
		return n
	}
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("x", func(ctx context.Context, j *naq.Job) (any, error) {
			mu.Lock()
			calls[j.ID]++
			mu.Unlock()
			return "done", nil
		})
	}, worker.WithConcurrency(1), worker.WithAckWait(2*time.Second))
	ctx := t.Context()
	js, _ := jetstream.New(e.nc)
	if err := js.DeleteStream(ctx, layout.ResultsStream); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 10 {
		job, err := e.client.Enqueue(ctx, "x", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	testutil.Eventually(t, 30*time.Second, "the first job to run", func() bool { return ran() >= 1 })
	// Pull requests sent before the first write failed may still bring a
	// job or two; after that, for three ack waits, nothing new starts and
	// the deliveries are kept alive.
	time.Sleep(time.Second)
	before := ran()
	time.Sleep(6 * time.Second)
	// How many ran before the first failed write came back depends on the
	// machine's speed (a batch of results is confirmed after a pause of a
	// millisecond); that none starts after it, and that the worker did not
	// take them all, does not.
	if n := ran(); n != before || n >= len(ids) {
		t.Fatalf("%d jobs ran, %d of them while results could not be stored; want the worker to take no new ones", n, n-before)
	}
	if _, err := layout.EnsureBucket(ctx, js, layout.Config{}, layout.ResultsBucket); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := e.client.Result(ctx, id)
			if err == nil && res.Status == naq.StateCompleted {
				break
			}
			if err != nil && !errors.Is(err, naq.ErrJobNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s has no result 30 s after the bucket came back", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if calls[id] != 1 {
			t.Errorf("job %s ran %d times", id, calls[id])
		}
	}
}
