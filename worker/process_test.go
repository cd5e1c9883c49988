package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

type addArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

type sum struct {
	Sum int `json:"sum"`
}

func TestTypedHandlerRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.Handle("math:add", worker.Typed(func(ctx context.Context, a addArgs) (sum, error) {
			if naq.JobFromContext(ctx) == nil {
				return sum{}, errors.New("no job in context")
			}
			return sum{a.A + a.B}, nil
		}))
	})
	job, err := e.client.Enqueue(t.Context(), "math:add", addArgs{A: 2, B: 40})
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	var out sum
	if err := res.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Sum != 42 || res.Status != naq.StateCompleted || res.Attempts != 1 {
		t.Fatalf("got %+v, result %+v", out, res)
	}
	st, err := e.client.Status(t.Context(), job.ID)
	if err != nil || st.State != naq.StateCompleted || st.WorkerID == "" || st.FinishedAt.IsZero() {
		t.Fatalf("status %+v, %v", st, err)
	}
}

func TestUntypedHandlerWithMiddleware(t *testing.T) {
	e := newEnv(t)
	var seen atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.Use(func(next worker.Handler) worker.Handler {
			return worker.HandlerFunc(func(ctx context.Context, j *naq.Job) (any, error) {
				seen.Add(1)
				return next.ProcessJob(ctx, j)
			})
		})
		w.HandleFunc("text:upper", func(ctx context.Context, j *naq.Job) (any, error) {
			var s string
			if err := j.Bind(&s); err != nil {
				return nil, err
			}
			return strings.ToUpper(s), nil
		})
	})
	job, err := e.client.Enqueue(t.Context(), "text:upper", "hello")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := e.wait(t, job.ID).Decode(&out); err != nil || out != "HELLO" {
		t.Fatalf("got %q, %v", out, err)
	}
	if seen.Load() != 1 {
		t.Fatalf("middleware saw %d jobs", seen.Load())
	}
}

func TestNoHandlerFailsWithResult(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {})
	job, err := e.client.Enqueue(t.Context(), "nobody:home", nil, naq.MaxRetries(3))
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	var fe *naq.JobFailedError
	if !errors.As(res.Err(), &fe) || fe.Message != "no handler registered for nobody:home" || res.Attempts != 1 {
		t.Fatalf("result %+v err %v", res, res.Err())
	}
	if res.ErrorKind != worker.KindNoHandler {
		t.Fatalf("kind %q", res.ErrorKind)
	}
}

func TestPanicBecomesFailedJobWithStack(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("boom", func(ctx context.Context, j *naq.Job) (any, error) {
			calls.Add(1)
			panic("kaboom")
		})
		w.HandleFunc("ok", func(ctx context.Context, j *naq.Job) (any, error) { return "fine", nil })
	})
	job, _ := e.client.Enqueue(t.Context(), "boom", nil)
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || res.Error == nil || *res.Error != "panic: kaboom" {
		t.Fatalf("result %+v", res)
	}
	if res.Traceback == nil || !strings.Contains(*res.Traceback, "process_test.go") {
		t.Fatalf("traceback does not show the handler: %v", res.Traceback)
	}
	// The worker survived: it still runs jobs.
	job2, _ := e.client.Enqueue(t.Context(), "ok", nil)
	if r := e.wait(t, job2.ID); r.Status != naq.StateCompleted {
		t.Fatalf("after panic: %+v", r)
	}
	if calls.Load() != 1 {
		t.Fatalf("panicking job ran %d times", calls.Load())
	}
}

func TestResultThatDoesNotMarshalFails(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("chan", func(ctx context.Context, j *naq.Job) (any, error) { return make(chan int), nil })
	})
	job, _ := e.client.Enqueue(t.Context(), "chan", nil, naq.MaxRetries(2))
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || !strings.Contains(*res.Error, "does not marshal") || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
}

// A job whose handler is done but whose result the server has not yet
// confirmed holds no slot: with one slot, the next job starts while the first
// one's result write is still unanswered, and both complete once it is.
func TestJobWaitingForItsResultWriteHoldsNoSlot(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	started := make(chan string, 2)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("tasks:quick", func(_ context.Context, j *naq.Job) (any, error) {
			started <- j.ID
			return "done", nil
		})
	}, worker.WithConcurrency(1))

	// Take the results bucket away and hold its writes unanswered: a
	// subscriber on its subjects that does not reply.
	if err := e.client.JetStream().DeleteKeyValue(ctx, "naq_results"); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []*nats.Msg
		last time.Time
	)
	sink, err := e.nc.Subscribe("$KV.naq_results.>", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		held, last = append(held, m), time.Now()
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		j, err := e.client.Enqueue(ctx, "tasks:quick", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for i := range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 2 jobs started within 10 s: the first job's unanswered result write held the only slot", i)
		}
	}

	// Once the worker has sent all it will (both results and the end of their
	// batch, if any: nothing for 500 ms), bring the bucket back and pass the
	// held writes on to it: the server answers them, and the jobs are
	// acknowledged.
	for quiet, deadline := false, time.Now().Add(20*time.Second); !quiet; {
		if time.Now().After(deadline) {
			t.Fatal("the worker kept writing results for 20 s")
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		quiet = len(held) >= 2 && time.Since(last) > 500*time.Millisecond
		mu.Unlock()
	}
	if err := sink.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if _, err := naq.NewClient(ctx, e.nc, naq.WithLogger(testutil.Logger())); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range held {
		if err := e.nc.PublishMsg(&nats.Msg{Subject: m.Subject, Reply: m.Reply, Header: m.Header, Data: m.Data}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if res := e.wait(t, id); res.Status != naq.StateCompleted {
			t.Errorf("job %s: %s, want completed", id, res.Status)
		}
	}
}
