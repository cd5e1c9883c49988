package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// An idle worker holds a pull request open for its whole poll wait; stopping
// must not wait for it to expire.
func TestIdleWorkerStopsWithoutWaitingOutItsPull(t *testing.T) {
	e := newEnv(t)
	_, stop := e.startWorker(t, func(w *worker.Worker) {}, worker.WithPollWait(5*time.Second))
	time.Sleep(300 * time.Millisecond) // its first request is open and waiting
	start := time.Now()
	stop()
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("stop took %s; an idle worker should not wait out its 5 s pull", took)
	}
}

// Workers stopped while jobs keep arriving leave none of them delivered to
// nobody: with a one-minute ack wait, such a job would stall the last
// worker's wait for all of them.
func TestJobsArrivingWhileWorkersStopAreNotStranded(t *testing.T) {
	t.Run("one queue", func(t *testing.T) { testNotStranded(t, []string{naq.DefaultQueue}, 4, 0) })
	// Several queues, fewer slots, jobs that take a moment: jobs also arrive
	// for listening requests and wait for a slot as the worker stops.
	t.Run("several queues", func(t *testing.T) {
		testNotStranded(t, []string{"sa", "sb", "sc", "sd", "se", "sf"}, 2, 2*time.Millisecond)
	})
}

func testNotStranded(t *testing.T, queues []string, slots int, work time.Duration) {
	e := newEnv(t)
	ctx := t.Context()
	var ran atomic.Int64
	register := func(w *worker.Worker) {
		w.HandleFunc("tick", func(context.Context, *naq.Job) (any, error) {
			time.Sleep(work)
			ran.Add(1)
			return nil, nil
		})
	}
	// Each stop puts back the jobs delivered to it as it stops, and a put-back
	// counts as a delivery nobody answered: a job put back by three stopping
	// workers in a row would end as poison. That is not what this test is
	// about (a stranded job would wait out the one-minute ack wait), so the
	// poison threshold is out of reach here.
	opts := []worker.Option{
		worker.WithAckWait(time.Minute), worker.WithConcurrency(slots), worker.WithQueues(queues...),
		worker.WithPollWait(5 * time.Second), worker.WithMaxLostDeliveries(1000),
	}

	var (
		mu  sync.Mutex
		ids []string
	)
	producing, stopProducing := context.WithCancel(ctx)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; producing.Err() == nil; i++ {
			job, err := e.client.Enqueue(ctx, "tick", nil, naq.Queue(queues[i%len(queues)]))
			if err != nil {
				t.Errorf("enqueue: %v", err)
				return
			}
			mu.Lock()
			ids = append(ids, job.ID)
			mu.Unlock()
			time.Sleep(500 * time.Microsecond)
		}
	}()
	for i := range 8 {
		_, stop := e.startWorker(t, register, opts...)
		time.Sleep(time.Duration(20+15*i) * time.Millisecond)
		stop()
	}
	stopProducing()
	<-produced

	_, stop := e.startWorker(t, register, opts...)
	defer stop()
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if _, err := e.client.Wait(waitCtx, id); err != nil {
			t.Fatalf("job %s not done within 20 s (%d of %d ran): %v", id, ran.Load(), len(ids), err)
		}
	}
	if ran.Load() < int64(len(ids)) {
		t.Errorf("%d jobs ran for %d enqueued", ran.Load(), len(ids))
	}
}

// A worker with fewer slots than queues: idle queues listen without the
// slot, so a job on any of them starts well within one PollWait.
func TestIdleQueuesShareTheOnlySlot(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("tick", func(context.Context, *naq.Job) (any, error) { return nil, nil })
	}, worker.WithQueues("qa", "qb", "qc"), worker.WithConcurrency(1), worker.WithPollWait(5*time.Second))
	time.Sleep(300 * time.Millisecond) // every queue is idle
	for i := range 9 {
		q := []string{"qa", "qb", "qc"}[i%3]
		start := time.Now()
		job, err := e.client.Enqueue(ctx, "tick", nil, naq.Queue(q))
		if err != nil {
			t.Fatal(err)
		}
		e.wait(t, job.ID)
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("job %d on %s took %s; a queue waited out another's 5 s pull", i, q, took)
		}
		time.Sleep(time.Duration(100*(i%4)) * time.Millisecond) // land at different points of the turns
	}
}
