package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// A queue capped at 3 running jobs runs at most 3 at once across two workers
// of 5 slots each, the second started without the cap; a worker given 0
// lifts it.
func TestMaxRunningAcrossWorkers(t *testing.T) {
	srv, nc := testutil.Server(t)
	ctx := t.Context()
	client, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	var running, peak, done atomic.Int64
	handler := func(ctx context.Context, job *naq.Job) (any, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(30 * time.Millisecond)
		running.Add(-1)
		done.Add(1)
		return nil, nil
	}
	start := func(opts ...worker.Option) {
		conn, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		e := &env{nc: conn, client: client}
		w, _ := e.startWorker(t, func(w *worker.Worker) { w.HandleFunc("capped:job", handler) },
			append([]worker.Option{worker.WithQueues("capped"), worker.WithConcurrency(5)}, opts...)...)
		select {
		case <-w.Ready():
		case <-ctx.Done():
			t.Fatal("worker not ready")
		}
	}
	start(worker.WithMaxRunning("capped", 3))
	start() // keeps the cap
	const jobs = 40
	for i := range jobs {
		if _, err := client.Enqueue(ctx, "capped:job", naq.Args{i}, naq.Queue("capped")); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 30*time.Second, "every job to run", func() bool { return done.Load() == jobs })
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("at most %d jobs ran at once, want 3 (the cap)", p)
	}
	cons := func() jetstream.ConsumerConfig {
		js, _ := jetstream.New(nc)
		c, err := js.Consumer(ctx, layout.JobsStream, layout.ConsumerName("capped"))
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().Config
	}
	if c := cons(); c.MaxAckPending != 3 || c.Metadata[layout.MaxRunningMeta] != "3" {
		t.Errorf("capped consumer: max ack pending %d, metadata %v", c.MaxAckPending, c.Metadata)
	}
	start(worker.WithMaxRunning("capped", 0))
	if c := cons(); c.MaxAckPending != 10000 || c.Metadata[layout.MaxRunningMeta] != "" {
		t.Errorf("after lifting the cap: max ack pending %d, metadata %v", c.MaxAckPending, c.Metadata)
	}
}
