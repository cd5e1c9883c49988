package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

func TestDelayedJobRunsAtItsTimeAndCancelStopsIt(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	ranAt := map[string]time.Time{}
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("later", func(ctx context.Context, j *naq.Job) (any, error) {
			mu.Lock()
			ranAt[j.ID] = time.Now()
			mu.Unlock()
			return nil, nil
		})
	})
	due := time.Now().Add(1500 * time.Millisecond)
	job, err := e.client.EnqueueAt(t.Context(), due, "later", nil)
	if err != nil {
		t.Fatal(err)
	}
	doomed, err := e.client.EnqueueIn(t.Context(), time.Second, "later", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.client.Status(t.Context(), job.ID)
	if err != nil || st.State != naq.StateScheduled || !st.NextAttemptAt.Equal(due.UTC()) {
		t.Fatalf("status %+v %v", st, err)
	}
	pending, err := e.client.ListDelayed(t.Context(), 0)
	if err != nil || len(pending) != 2 || !pending[0].RunAt.Equal(due.UTC()) {
		t.Fatalf("delayed %+v %v", pending, err)
	}
	if err := e.client.Cancel(t.Context(), doomed.ID); err != nil {
		t.Fatal(err)
	}
	e.wait(t, job.ID)
	mu.Lock()
	at := ranAt[job.ID]
	mu.Unlock()
	if at.Before(due) {
		t.Fatalf("ran %s early", due.Sub(at))
	}
	t.Logf("fired %s after its time", at.Sub(due))
	time.Sleep(time.Second) // past the cancelled job's time
	mu.Lock()
	defer mu.Unlock()
	if _, ran := ranAt[doomed.ID]; ran {
		t.Fatal("cancelled delayed job ran")
	}
	if r := e.wait(t, doomed.ID); r.Status != naq.StateCancelled {
		t.Fatalf("%+v", r)
	}
	if left, _ := e.client.ListDelayed(t.Context(), 0); len(left) != 0 {
		t.Fatalf("%d delayed left", len(left))
	}
}

// Delayed jobs survive a server restart and each fires once, even when their
// time passed while the server was down.
func TestDelayedJobsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := embedded.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := srv.Connect()
	client, err := naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 20 {
		j, err := client.EnqueueIn(t.Context(), time.Duration(200+50*i)*time.Millisecond, "count", i)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	nc.Close()
	srv.Shutdown()
	time.Sleep(time.Second) // every job's time passes while the server is down

	srv, err = embedded.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	nc, _ = srv.Connect()
	t.Cleanup(func() { nc.Close(); srv.Shutdown() })
	client, err = naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{nc: nc, client: client}
	var runs sync32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("count", func(ctx context.Context, j *naq.Job) (any, error) { runs.inc(j.ID); return nil, nil })
	})
	for _, id := range ids {
		e.wait(t, id)
	}
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		if n := runs.get(id); n != 1 {
			t.Fatalf("job %s ran %d times", id, n)
		}
	}
}
