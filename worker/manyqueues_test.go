package worker_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// manyQueues names n queues.
func manyQueues(n int) []string {
	qs := make([]string, n)
	for i := range qs {
		qs[i] = fmt.Sprintf("many%02d", i)
	}
	return qs
}

// A worker with far fewer slots than queues starts a job on any idle queue
// at once: idle queues listen without holding a slot. (Before, the queues
// took turns of 250 ms holding the 5 slots, so a job waited for its queue's
// turn: half of them over a second with 50 queues.)
func TestJobOnAnyIdleQueueStartsPromptly(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	queues := manyQueues(50)
	started := make(chan time.Time, 1)
	w, _ := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("many:tick", func(context.Context, *naq.Job) (any, error) {
			started <- time.Now()
			return nil, nil
		})
	}, worker.WithQueues(queues...), worker.WithConcurrency(5), worker.WithPollWait(5*time.Second))
	<-w.Ready()
	time.Sleep(500 * time.Millisecond) // every queue idle, listening
	var waits []time.Duration
	for i := range queues {
		q := queues[i*17%len(queues)] // not in the order the queues take turns
		t0 := time.Now()
		if _, err := e.client.Enqueue(ctx, "many:tick", nil, naq.Queue(q)); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-started:
			waits = append(waits, s.Sub(t0))
		case <-time.After(30 * time.Second):
			t.Fatalf("job %d on %s did not start", i, q)
		}
		time.Sleep(time.Duration(7*(i%5)) * time.Millisecond) // land at different moments
	}
	slices.Sort(waits)
	median, worst := waits[len(waits)/2], waits[len(waits)-1]
	t.Logf("start after enqueue: median %s, max %s", median, worst)
	if median > 400*time.Millisecond {
		t.Errorf("median start %s after enqueue: idle queues are waiting for a slot to listen", median)
	}
	if worst > 4*time.Second {
		t.Errorf("a job started %s after its enqueue: a queue waited out a pull request", worst)
	}
}

// A burst on many queues at once, on fewer slots than queues: every job runs
// exactly once, and never more at once than the worker's slots.
func TestManyQueuesBurstKeepsConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	queues := manyQueues(30)
	const slots, perQueue = 4, 10
	var running, peak atomic.Int64
	var mu sync.Mutex
	runs := map[string]int{}
	done := make(chan struct{})
	w, _ := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("many:burst", func(ctx context.Context, job *naq.Job) (any, error) {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			runs[job.ID]++
			if len(runs) == len(queues)*perQueue {
				close(done)
			}
			mu.Unlock()
			return nil, nil
		})
	}, worker.WithQueues(queues...), worker.WithConcurrency(slots))
	<-w.Ready()
	var jobs []*naq.Job
	for i := range perQueue {
		for _, q := range queues {
			j, err := naq.NewJob("many:burst", naq.Args{i}, naq.Queue(q))
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
	}
	if err := e.client.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		mu.Lock()
		t.Fatalf("%d of %d jobs ran", len(runs), len(jobs))
	}
	for _, j := range jobs {
		e.wait(t, j.ID)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %s ran %d times", id, n)
		}
	}
	if p := peak.Load(); p > slots {
		t.Errorf("%d jobs ran at once on %d slots", p, slots)
	}
}

// A job that arrives while every slot is busy waits for one longer than the
// ack wait without being redelivered: the worker keeps it alive meanwhile.
func TestJobWaitingForASlotIsNotRedelivered(t *testing.T) {
	e := newEnv(t)
	release, blocking := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	runs := map[string]int{}
	w, _ := e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("many:block", func(ctx context.Context, job *naq.Job) (any, error) {
			close(blocking)
			<-release
			return nil, nil
		})
		w.HandleFunc("many:count", func(ctx context.Context, job *naq.Job) (any, error) {
			mu.Lock()
			runs[job.ID]++
			mu.Unlock()
			return nil, nil
		})
	}, worker.WithQueues("busy", "other"), worker.WithConcurrency(1), worker.WithAckWait(time.Second))
	<-w.Ready()
	waiting := e.enqueueBehindBlocker(t, blocking)
	time.Sleep(3500 * time.Millisecond) // over three ack waits
	close(release)
	e.wait(t, waiting.ID)
	time.Sleep(1500 * time.Millisecond) // a redelivered copy would run by now
	mu.Lock()
	defer mu.Unlock()
	if n := runs[waiting.ID]; n != 1 {
		t.Errorf("the job that waited for a slot ran %d times", n)
	}
}

// A job waiting for a slot when its worker stops goes back to its queue at
// once, and the next worker runs it, once.
func TestJobWaitingForASlotGoesBackAtStop(t *testing.T) {
	e := newEnv(t)
	release, blocking := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	runs := map[string][]string{} // job id: the workers that ran it
	register := func(name string) func(w *worker.Worker) {
		return func(w *worker.Worker) {
			w.HandleFunc("many:block", func(ctx context.Context, job *naq.Job) (any, error) {
				close(blocking)
				<-release
				return nil, nil
			})
			w.HandleFunc("many:count", func(ctx context.Context, job *naq.Job) (any, error) {
				mu.Lock()
				runs[job.ID] = append(runs[job.ID], name)
				mu.Unlock()
				return nil, nil
			})
		}
	}
	opts := []worker.Option{worker.WithQueues("busy", "other"), worker.WithConcurrency(1)}
	w, stop := e.startWorker(t, register("first"), opts...)
	<-w.Ready()
	waiting := e.enqueueBehindBlocker(t, blocking)
	time.Sleep(500 * time.Millisecond) // delivered, waiting for the slot
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(500 * time.Millisecond) // the worker stops fetching
	close(release)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	e.startWorker(t, register("second"), opts...)
	res := e.wait(t, waiting.ID)
	if res.Status != naq.StateCompleted {
		t.Errorf("the job that waited ended %s", res.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := runs[waiting.ID]; len(got) != 1 || got[0] != "second" {
		t.Errorf("the job that waited ran on %v, want the second worker only", got)
	}
}

// enqueueBehindBlocker enqueues a job on queue busy whose handler closes
// blocking and holds the only slot, waits for it to start, and enqueues a
// job on queue other, which has to wait for the slot.
func (e *env) enqueueBehindBlocker(t *testing.T, blocking <-chan struct{}) *naq.Job {
	t.Helper()
	if _, err := e.client.Enqueue(t.Context(), "many:block", nil, naq.Queue("busy")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-blocking:
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking job did not start")
	}
	waiting, err := e.client.Enqueue(t.Context(), "many:count", nil, naq.Queue("other"))
	if err != nil {
		t.Fatal(err)
	}
	return waiting
}
