package worker_test

import (
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// WithConfig is the base and field options override it wherever they stand;
// of two settings of one field the later wins; zero fields take defaults.
func TestWithConfigAgainstFieldOptions(t *testing.T) {
	_, nc := testutil.Server(t)
	base := worker.Config{Concurrency: 8, AckWait: 2 * time.Minute, Queues: []string{"base"}}
	cases := []struct {
		name      string
		opts      []worker.Option
		wantConc  int
		wantAck   time.Duration
		wantQueue string
	}{
		{"field option before WithConfig", []worker.Option{worker.WithConcurrency(3), worker.WithConfig(base)}, 3, 2 * time.Minute, "base"},
		{"field option after WithConfig", []worker.Option{worker.WithConfig(base), worker.WithConcurrency(3)}, 3, 2 * time.Minute, "base"},
		{"later WithConfig replaces earlier", []worker.Option{worker.WithConfig(worker.Config{Concurrency: 5}), worker.WithConfig(base)}, 8, 2 * time.Minute, "base"},
		{"later field option wins", []worker.Option{worker.WithConcurrency(2), worker.WithConfig(base), worker.WithConcurrency(6)}, 6, 2 * time.Minute, "base"},
		{"queues option over the base's", []worker.Option{worker.WithQueues("q1"), worker.WithConfig(base)}, 8, 2 * time.Minute, "q1"},
		{"defaults fill zero fields", []worker.Option{worker.WithConfig(worker.Config{Queues: []string{"base"}})}, 10, time.Minute, "base"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := worker.New(nc, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			c := w.Config()
			if c.Concurrency != tc.wantConc || c.AckWait != tc.wantAck || len(c.Queues) != 1 || c.Queues[0] != tc.wantQueue {
				t.Fatalf("Concurrency %d, AckWait %s, Queues %v; want %d, %s, [%s]",
					c.Concurrency, c.AckWait, c.Queues, tc.wantConc, tc.wantAck, tc.wantQueue)
			}
		})
	}
}

// A field option's bad value is reported by New, as a bad Config field is.
func TestFieldOptionValidated(t *testing.T) {
	_, nc := testutil.Server(t)
	if _, err := worker.New(nc, worker.WithConfig(worker.Config{Concurrency: 4}), worker.WithRetryJitter(-1)); err == nil {
		t.Fatal("New accepted a negative retry jitter")
	}
}
