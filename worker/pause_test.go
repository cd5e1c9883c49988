package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A paused queue stays paused when a worker starts (and re-provisions its
// consumer); jobs wait, nothing is lost, and resuming lets them run.
func TestPausedQueueSurvivesWorkerStart(t *testing.T) {
	e := newEnv(t)
	reg := func(w *worker.Worker) {
		w.HandleFunc("p", func(ctx context.Context, j *naq.Job) (any, error) { return "ran", nil })
	}
	_, stop := e.startWorker(t, reg, worker.WithQueues("paused"))
	stop()
	js, _ := jetstream.New(e.nc)
	if _, err := js.PauseConsumer(t.Context(), "naq_jobs", "naq-worker-paused", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, reg, worker.WithQueues("paused"))
	job, err := e.client.Enqueue(t.Context(), "p", nil, naq.Queue("paused"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := e.client.Result(t.Context(), job.ID); err == nil {
		t.Fatal("a job ran on a paused queue")
	}
	if _, err := js.ResumeConsumer(t.Context(), "naq_jobs", "naq-worker-paused"); err != nil {
		t.Fatal(err)
	}
	if r := e.wait(t, job.ID); r.Status != naq.StateCompleted {
		t.Fatalf("%+v", r)
	}
}
