package worker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker"
)

// startRecorder runs a worker on queues that records the queue of every job
// it starts, in order, and tells done once it has started n.
func startRecorder(t *testing.T, e *env, n int, opts ...worker.Option) (starts func() []string, done <-chan struct{}) {
	var mu sync.Mutex
	var order []string
	finished := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("prio:job", func(ctx context.Context, job *naq.Job) (any, error) {
			mu.Lock()
			order = append(order, job.Queue)
			if len(order) == n {
				close(finished)
			}
			mu.Unlock()
			time.Sleep(time.Millisecond) // the slots, not the pulls, are the bottleneck
			return nil, nil
		})
	}, opts...)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), order[:min(n, len(order))]...)
	}, finished
}

func fillQueues(t *testing.T, e *env, n int, queues ...string) {
	t.Helper()
	for _, q := range queues {
		jobs := make([]*naq.Job, n)
		for i := range jobs {
			j, err := naq.NewJob("prio:job", naq.Args{i}, naq.Queue(q))
			if err != nil {
				t.Fatal(err)
			}
			jobs[i] = j
		}
		if err := e.client.EnqueueMany(t.Context(), jobs); err != nil {
			t.Fatal(err)
		}
	}
}

func waitStarts(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the worker did not start enough jobs")
	}
}

// With backlog on every queue, each queue's share of the slots matches its
// weight within a few points.
func TestWeightedPriorities(t *testing.T) {
	e := newEnv(t)
	const per, counted = 1000, 1000 // no queue runs dry among the counted starts
	fillQueues(t, e, per, "critical", "default", "low")
	starts, done := startRecorder(t, e, counted, worker.WithConcurrency(4),
		worker.WithPriorities(map[string]int{"critical": 6, "default": 3, "low": 1}))
	waitStarts(t, done)
	share := map[string]float64{}
	for _, q := range starts() {
		share[q] += 1.0 / counted
	}
	for q, want := range map[string]float64{"critical": 0.6, "default": 0.3, "low": 0.1} {
		if got := share[q]; got < want-0.03 || got > want+0.03 {
			t.Errorf("queue %s: %.1f%% of the starts, want %.0f%% ± 3", q, 100*got, 100*want)
		}
	}
	t.Logf("shares of %d starts: %v", counted, share)
}

// Strict: a lighter queue gets a slot only while the heavier ones have no
// job left to deliver. Each lighter job, once started, asks the server how
// many jobs the heavier queues' consumers have yet to deliver: that count
// only falls (nothing is enqueued meanwhile), so any left then were left when
// the job started. The order in which handlers record their starts would not
// do: a heavier queue's last job may take its slot first and begin after a
// lighter one on a loaded machine.
func TestStrictPriority(t *testing.T) {
	e := newEnv(t)
	const per = 300
	fillQueues(t, e, per, "low", "mid", "high")
	js, err := jetstream.New(e.nc)
	if err != nil {
		t.Fatal(err)
	}
	undelivered := func(ctx context.Context, q string) (uint64, error) {
		c, err := js.Consumer(ctx, layout.JobsStream, layout.ConsumerName(q))
		if err != nil {
			return 0, err
		}
		return c.CachedInfo().NumPending, nil
	}
	heavier := map[string][]string{"mid": {"high"}, "low": {"high", "mid"}}
	var mu sync.Mutex
	early := map[string]int{} // lighter starts while a heavier queue had jobs to deliver
	var errs []error
	var started atomic.Int64
	done := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("prio:job", func(ctx context.Context, job *naq.Job) (any, error) {
			for _, h := range heavier[job.Queue] {
				n, err := undelivered(ctx, h)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case n > 0:
					early[job.Queue+" before "+h]++
				}
				mu.Unlock()
			}
			time.Sleep(time.Millisecond) // the slots, not the pulls, are the bottleneck
			if started.Add(1) == 3*per {
				close(done)
			}
			return nil, nil
		})
	}, worker.WithConcurrency(4), worker.WithQueues("high", "mid", "low"), worker.WithStrictPriority())
	waitStarts(t, done)
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("reading the consumers: %v", errs[0])
	}
	for what, n := range early {
		t.Errorf("%d jobs of %s started while the heavier queue had jobs to deliver", n, what)
	}
}

func TestPriorityConfigErrors(t *testing.T) {
	e := newEnv(t)
	for _, opts := range [][]worker.Option{
		{worker.WithPriorities(map[string]int{"a": 0})},
		{worker.WithQueues("a"), worker.WithPriorities(map[string]int{"b": 2})},
		{worker.WithQueues("a"), worker.WithMaxRunning("b", 2)},
		{worker.WithMaxRunning(naq.DefaultQueue, -1)},
		{worker.WithRateLimit("bad key", 1, time.Second)},
		{worker.WithRateLimit("k", 0, time.Second)},
		{worker.WithFunctionRateLimit("f", 1, 48*time.Hour)},
		{worker.WithFunctionRateLimit("f", 1, 100*time.Millisecond)},
	} {
		if _, err := worker.New(e.nc, opts...); err == nil {
			t.Errorf("options %s accepted", fmt.Sprint(len(opts)))
		}
	}
	w, err := worker.New(e.nc, worker.WithPriorities(map[string]int{"low": 1, "critical": 6, "default": 3}))
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Config().Queues; fmt.Sprint(got) != "[critical default low]" {
		t.Errorf("queues of a worker given only priorities: %v, want heaviest first", got)
	}
}

// Strict priority on a worker with several queues: a heavier queue that ran
// dry does not hold a lighter one back until its idle request expires.
func TestStrictPriorityLetsGoOfAnEmptyQueue(t *testing.T) {
	e := newEnv(t)
	fillQueues(t, e, 1, "high")
	fillQueues(t, e, 3, "low")
	began := time.Now()
	starts, done := startRecorder(t, e, 4, worker.WithConcurrency(1), worker.WithPollWait(5*time.Second),
		worker.WithQueues("high", "low"), worker.WithStrictPriority())
	waitStarts(t, done)
	took := time.Since(began)
	t.Logf("order %v in %s", starts(), took)
	if got := starts(); got[0] != "high" {
		t.Errorf("started %v: the lighter queue went first", got)
	}
	if took > 4*time.Second {
		t.Errorf("the four jobs took %s: the lighter queue waited out the empty one's 5 s request", took)
	}
}
