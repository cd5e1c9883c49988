package worker_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// BenchmarkProcessAllocs works off 10,000 queued no-op jobs per iteration
// and reports the allocations of the whole process (worker, client and the
// embedded server) per processed job, until the last handler returned:
//
//	go test -run XXX -bench ProcessAllocs -benchtime 5x ./worker/
func BenchmarkProcessAllocs(b *testing.B) {
	const n = 10000
	e := newBenchEnv(b)
	ctx := context.Background()
	var mallocs, bytes uint64
	for b.Loop() {
		b.StopTimer()
		jobs := make([]*naq.Job, n)
		for i := range jobs {
			j, err := naq.NewJob("noop", map[string]int{"user_id": i}, naq.Queue("allocs"))
			if err != nil {
				b.Fatal(err)
			}
			jobs[i] = j
		}
		if err := e.client.EnqueueMany(ctx, jobs); err != nil {
			b.Fatal(err)
		}
		w, err := worker.New(e.nc, worker.WithQueues("allocs"), worker.WithConcurrency(200), worker.WithLogger(testutil.Logger()))
		if err != nil {
			b.Fatal(err)
		}
		var handled atomic.Int64
		done := make(chan struct{})
		w.HandleFunc("noop", func(context.Context, *naq.Job) (any, error) {
			if handled.Add(1) == n {
				close(done)
			}
			return nil, nil
		})
		wctx, stop := context.WithCancel(ctx)
		ran := make(chan error, 1)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		go func() { ran <- w.Run(wctx) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d jobs ran", handled.Load(), n)
		}
		b.StopTimer()
		runtime.ReadMemStats(&after)
		mallocs += after.Mallocs - before.Mallocs
		bytes += after.TotalAlloc - before.TotalAlloc
		stop()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	jobs := float64(b.N * n)
	b.ReportMetric(float64(mallocs)/jobs, "allocs/job")
	b.ReportMetric(float64(bytes)/jobs, "B/job")
}
