package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker"
)

// centuries reaches past the server's clock, which ends in April 2262.
const centuries = 280 * 365 * 24 * time.Hour

// A snooze or a retry delay of centuries waits until the server's horizon
// instead of ending at once: the job runs once and waits on the server.
func TestPutBacksOfCenturiesWaitAtTheHorizon(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var snoozed, failed atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("tasks:snooze", func(context.Context, *naq.Job) (any, error) {
			snoozed.Add(1)
			return nil, worker.Snooze(centuries)
		})
		w.HandleFunc("tasks:fail", func(context.Context, *naq.Job) (any, error) {
			failed.Add(1)
			return nil, context.DeadlineExceeded
		})
	})
	s, err := e.client.Enqueue(ctx, "tasks:snooze", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.client.Enqueue(ctx, "tasks:fail", nil, naq.MaxRetries(3), naq.RetryDelay(centuries))
	if err != nil {
		t.Fatal(err)
	}
	awaitSchedule(t, e, s.ID)
	awaitSchedule(t, e, f.ID)
	time.Sleep(2 * time.Second) // a schedule set past the horizon fires at once
	if n, m := snoozed.Load(), failed.Load(); n != 1 || m != 1 {
		t.Errorf("the snoozed job ran %d times, the failed one %d; want once each", n, m)
	}
	for _, id := range []string{s.ID, f.ID} {
		st, err := e.client.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != naq.StateRetrying || st.NextAttemptAt.After(layout.Horizon()) || st.NextAttemptAt.Year() < 2261 {
			t.Errorf("job %s: %s, next attempt %s; want retrying at the horizon", id, st.State, st.NextAttemptAt)
		}
	}
}

// A result TTL of centuries is kept: within the bucket's max age, and never
// as a TTL past the server's horizon, which would remove it at once.
func TestResultTTLOfCenturies(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("tasks:noop", func(context.Context, *naq.Job) (any, error) { return "ok", nil })
	})
	j, err := e.client.Enqueue(ctx, "tasks:noop", nil, naq.ResultTTL(centuries))
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, j.ID)
	time.Sleep(1500 * time.Millisecond) // a TTL that ends at once has ended by now
	if _, err := e.client.Result(ctx, j.ID); err != nil {
		t.Fatalf("result of a job kept for centuries: %v", err)
	}
	js, _ := jetstream.New(e.nc)
	results, err := js.Stream(ctx, "KV_naq_results")
	if err != nil {
		t.Fatal(err)
	}
	m, err := results.GetLastMsgForSubject(ctx, "$KV.naq_results."+j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := m.Header.Get(jetstream.MsgTTLHeader); ttl != "" {
		t.Errorf("result written with TTL %q; want none, the bucket's max age (7 days) being shorter", ttl)
	}
}

// A job from a producer that does not check (Python naq, a raw publish)
// that depends on itself fails at once, unrun, instead of waiting for
// itself until the dependency timeout.
func TestJobThatDependsOnItselfFails(t *testing.T) {
	e := newEnv(t)
	var ran atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("py:self", func(context.Context, *naq.Job) (any, error) { ran.Add(1); return nil, nil })
	})
	const id = "0123456789abcdef0123456789abcd55"
	body := `{"job_id":"` + id + `","function":"py:self","args":[],"kwargs":{},"depends_on":["` + id + `"],"max_retries":0,"retry_delay":0}`
	if err := e.nc.Publish("naq.queue.naq_default_queue", []byte(body)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := e.client.Wait(ctx, id) // err says how the job failed
	if res == nil {
		t.Fatalf("the job that depends on itself did not end: %v", err)
	}
	if res.Status != naq.StateFailed || ran.Load() != 0 {
		t.Errorf("result %s, handler ran %d times; want failed unrun", res.Status, ran.Load())
	}
}
