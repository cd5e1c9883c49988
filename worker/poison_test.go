package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// A job that takes its worker down with it every time (here: the worker's
// connection dies mid-job, so no answer ever reaches the server) ends in the
// failed-jobs stream instead of coming back forever.
func TestPoisonJobEndsInFailedStream(t *testing.T) {
	srv, nc := testutil.Server(t)
	ctx := t.Context()
	client, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	job, err := client.Enqueue(ctx, "poison", nil, naq.MaxRetries(5))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	for range 4 { // three deaths, then the fourth delivery is recognised
		wnc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		w, err := worker.New(wnc, worker.WithLogger(testutil.Logger()), worker.WithAckWait(time.Second),
			worker.WithPollWait(200*time.Millisecond), worker.WithShutdownTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		died := make(chan struct{})
		w.HandleFunc("poison", func(ctx context.Context, j *naq.Job) (any, error) {
			runs.Add(1)
			wnc.Close() // the process "dies": nothing it does afterwards reaches the server
			close(died)
			return nil, nil
		})
		wctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		finished := make(chan struct{})
		go func() {
			select {
			case <-died:
			case <-time.After(5 * time.Second): // this worker saw the job as poison and never ran it
			}
			close(finished)
		}()
		<-finished
		cancel()
		<-done
		wnc.Close()
		if r, err := client.Result(ctx, job.ID); err == nil && r.Status == naq.StateFailed {
			break
		}
	}
	r := (&env{nc: nc, client: client}).wait(t, job.ID)
	if r.Status != naq.StateFailed || r.ErrorKind != worker.KindPoison {
		t.Fatalf("result %+v", r)
	}
	if runs.Load() != 3 {
		t.Fatalf("poison job ran %d times, want 3", runs.Load())
	}
	recs, err := client.ListFailed(ctx, "", 0)
	if err != nil || len(recs) != 1 || recs[0].JobID != job.ID || recs[0].ErrorKind != worker.KindPoison {
		t.Fatalf("failed records %+v %v", recs, err)
	}
	if n := jobsLeft(t, &env{nc: nc}); n != 0 {
		t.Fatalf("%d messages left in naq_jobs", n)
	}
}
