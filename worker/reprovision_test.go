package worker_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A worker whose queue consumer disappears (deleted by an operator, lost by
// the server) backs off, provisions it again and keeps working.
func TestWorkerRecreatesDeletedConsumer(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("x", func(ctx context.Context, j *naq.Job) (any, error) { return "ok", nil })
	})
	js, _ := jetstream.New(e.nc)
	if err := js.DeleteConsumer(t.Context(), "naq_jobs", "naq-worker-naq_default_queue"); err != nil {
		t.Fatal(err)
	}
	job, err := e.client.Enqueue(t.Context(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.wait(t, job.ID); r.Status != naq.StateCompleted {
		t.Fatalf("%+v", r)
	}
}
