package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

func TestMuxFallback(t *testing.T) {
	m := worker.NewMux()
	m.HandleFunc("named", func(context.Context, *naq.Job) (any, error) { return "named", nil })
	ctx := context.Background()

	// Without a fallback, an unknown name fails without retry.
	_, err := m.ProcessJob(ctx, &naq.Job{ID: "a", Name: "other"})
	if err == nil || !worker.IsSkipRetry(err) || worker.ErrorKind(err) != worker.KindNoHandler {
		t.Fatalf("no fallback: err = %v (kind %q)", err, worker.ErrorKind(err))
	}

	var wrapped []string
	m.Use(func(next worker.Handler) worker.Handler {
		return worker.HandlerFunc(func(ctx context.Context, job *naq.Job) (any, error) {
			wrapped = append(wrapped, job.Name)
			return next.ProcessJob(ctx, job)
		})
	})
	m.HandleFallback(worker.HandlerFunc(func(_ context.Context, job *naq.Job) (any, error) {
		return "fallback:" + job.Name, nil
	}))
	if v, err := m.ProcessJob(ctx, &naq.Job{ID: "b", Name: "other"}); err != nil || v != "fallback:other" {
		t.Fatalf("fallback: %v, %v", v, err)
	}
	if v, err := m.ProcessJob(ctx, &naq.Job{ID: "c", Name: "named"}); err != nil || v != "named" {
		t.Fatalf("a registered name must win over the fallback: %v, %v", v, err)
	}
	if len(wrapped) != 2 || wrapped[0] != "other" {
		t.Fatalf("middleware must wrap the fallback: %v", wrapped)
	}

	// A nil fallback restores the default.
	m.HandleFallback(nil)
	if _, err := m.ProcessJob(ctx, &naq.Job{ID: "d", Name: "other"}); worker.ErrorKind(err) != worker.KindNoHandler {
		t.Fatalf("after HandleFallback(nil): %v", err)
	}
}

func TestWorkerWithFallback(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("known", func(context.Context, *naq.Job) (any, error) { return "known", nil })
	}, worker.WithFallback(worker.HandlerFunc(func(_ context.Context, job *naq.Job) (any, error) {
		if job.Name == "broken" {
			return nil, errors.New("broken")
		}
		return "caught " + job.Name, nil
	})))
	ctx := t.Context()
	for name, want := range map[string]string{"known": `"known"`, "anything:else": `"caught anything:else"`} {
		j, err := e.client.Enqueue(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		res := e.wait(t, j.ID)
		if res.Status != naq.StateCompleted || string(res.Value) != want {
			t.Fatalf("%s: status %s, value %s, want %s", name, res.Status, res.Value, want)
		}
	}
	j, err := e.client.Enqueue(ctx, "broken", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, j.ID); res.Status != naq.StateFailed || *res.Error != "broken" {
		t.Fatalf("broken: %+v", res)
	}
}

// The mux wraps each handler in its middleware once, not for every job, and
// a handler registered later is reached (through the middleware) from then on.
func TestMuxWrapsOnceAndSeesLaterHandlers(t *testing.T) {
	m := worker.NewMux()
	ctx := context.Background()
	wraps, calls := 0, 0
	m.Use(func(next worker.Handler) worker.Handler {
		wraps++
		return worker.HandlerFunc(func(ctx context.Context, job *naq.Job) (any, error) {
			calls++
			return next.ProcessJob(ctx, job)
		})
	})
	m.HandleFunc("a", func(context.Context, *naq.Job) (any, error) { return "a", nil })
	for i := range 3 {
		if v, err := m.ProcessJob(ctx, &naq.Job{ID: "a" + string(rune('0'+i)), Name: "a"}); err != nil || v != "a" {
			t.Fatalf("job %d: %v, %v", i, v, err)
		}
	}
	if _, err := m.ProcessJob(ctx, &naq.Job{ID: "b0", Name: "b"}); worker.ErrorKind(err) != worker.KindNoHandler {
		t.Fatalf("b before its handler: %v", err)
	}
	m.HandleFunc("b", func(context.Context, *naq.Job) (any, error) { return "b", nil })
	if v, err := m.ProcessJob(ctx, &naq.Job{ID: "b1", Name: "b"}); err != nil || v != "b" {
		t.Fatalf("b after its handler: %v, %v", v, err)
	}
	if calls != 5 {
		t.Errorf("middleware ran %d times for 5 jobs", calls)
	}
	// a once for its three jobs, the default for want of a handler, then b.
	if wraps != 3 {
		t.Errorf("middleware wrapped %d handlers, want 3", wraps)
	}
}
