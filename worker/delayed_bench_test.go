package worker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/worker"
)

// BenchmarkDelayedLateness schedules 10,000 delayed jobs over one second and
// reports how late after its time each one started (p50, p99, max):
//
//	go test -run XXX -bench DelayedLateness -benchtime 1x ./worker/
func BenchmarkDelayedLateness(b *testing.B) {
	const n = 10000
	for b.Loop() {
		e := newBenchEnv(b)
		var mu sync.Mutex
		late := make([]time.Duration, 0, n)
		done := make(chan struct{})
		w, err := worker.New(e.nc, worker.WithConcurrency(100), worker.WithPollWait(200*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		w.Handle("due", worker.Typed(func(ctx context.Context, due int64) (any, error) {
			d := time.Since(time.Unix(0, due))
			mu.Lock()
			late = append(late, d)
			if len(late) == n {
				close(done)
			}
			mu.Unlock()
			return nil, nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = w.Run(ctx) }()
		<-w.Ready()
		start := time.Now().Add(3 * time.Second)
		for i := range n {
			due := start.Add(time.Duration(i) * time.Second / n)
			if _, err := e.client.EnqueueAt(ctx, due, "due", due.UnixNano()); err != nil {
				b.Fatal(err)
			}
		}
		if time.Now().After(start) {
			b.Logf("enqueueing took past the first due time; lateness includes that")
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d delayed jobs ran", len(late), n)
		}
		cancel()
		slices.Sort(late)
		b.ReportMetric(float64(late[n/2].Milliseconds()), "p50-late-ms")
		b.ReportMetric(float64(late[n*99/100].Milliseconds()), "p99-late-ms")
		b.ReportMetric(float64(late[n-1].Milliseconds()), "max-late-ms")
		if late[0] < 0 {
			b.Errorf("a job ran %s early", -late[0])
		}
	}
}
