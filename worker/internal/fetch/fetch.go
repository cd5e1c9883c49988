// Package fetch brings a worker its jobs: pull requests to each queue's
// durable consumer, the slots they are sized to, and the pool of handler
// goroutines that runs what arrives. The worker sees one call per delivered
// job, and a slot that is free again when that call returns.
//
// It speaks JetStream's pull protocol itself instead of using nats.go's
// Consume or Fetch, for two reasons. A worker may hold only jobs it has a
// free slot for: a delivered message's ack timer runs from delivery, so jobs
// buffered behind others (Consume keeps hundreds) burn their ack wait and are
// redelivered elsewhere while still waiting here. Each request here asks for
// exactly the free slots, and several are pipelined so jobs keep flowing.
// And deliveries go from the connection's reader straight into the handler
// pool's channel, with no goroutine or per-batch subscription in between.
// docs/benchmarks.md has the measurements behind both, and the rare stall of
// Consume this design does not share.
package fetch

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// Config is what a Fetcher needs from its worker.
type Config struct {
	Conn        *nats.Conn
	Queues      []string
	Concurrency int           // handler slots, shared by all queues
	PollWait    time.Duration // longest an idle queue's request stays open (at most 5 s)
	Logger      *slog.Logger
	// Reprovision makes queue q's stream and consumer exist again after the
	// server answered a pull as if they did not.
	Reprovision func(ctx context.Context, q string)
	// PutBack returns a delivered job the fetcher will not run to its queue
	// (it arrived as the worker stopped, or with no slot for it). The worker
	// records the put-back first, so it never counts as a delivery nobody
	// answered. nil: a plain nak.
	PutBack func(jetstream.Msg)
	// Weights, one per queue (in the order of Queues), share the slots
	// between the queues under backlog; StrictPriority gives them to the
	// heaviest queue that wants them. Both unset: first come, first served.
	Weights        []int
	StrictPriority bool
}

// Fetcher pulls jobs for every queue of one worker and runs them.
type Fetcher struct {
	cfg    Config
	slots  *slots
	work   chan *nats.Msg // every queue's pull inbox delivers here
	byIn   map[string]*puller
	bySubj map[string]*puller
	pool   *handlerPool

	ctx     context.Context // ends when fetching must stop
	stop    context.CancelFunc
	pullers sync.WaitGroup
	side    sync.WaitGroup // reprovisioning calls

	closeWork sync.Once
	drained   chan struct{} // closed once every handler goroutine has exited

	gate      *gate
	reconnect chan nats.Status
	watcher   sync.WaitGroup
}

// Start begins fetching until ctx ends or StopFetching is called. handle
// runs each delivered job on one of Concurrency goroutines; the job's slot
// is free again when handle returns.
func Start(ctx context.Context, cfg Config, handle func(jetstream.Msg)) (*Fetcher, error) {
	f := &Fetcher{
		cfg: cfg, slots: newSlots(cfg.Concurrency), byIn: map[string]*puller{}, bySubj: map[string]*puller{}, gate: newGate(),
		// Room for every reserved slot twice over, and the statuses, so
		// nothing is ever dropped as a slow consumer.
		work: make(chan *nats.Msg, 2*cfg.Concurrency+16*len(cfg.Queues)+64),
	}
	if len(cfg.Weights) > 0 || cfg.StrictPriority {
		w := cfg.Weights
		if len(w) != len(cfg.Queues) { // strict by the order of the queues
			w = make([]int, len(cfg.Queues))
			for i := range w {
				w[i] = len(w) - i
			}
		}
		f.slots.prio = newPriority(w, cfg.StrictPriority)
	}
	if f.cfg.PutBack == nil {
		f.cfg.PutBack = func(m jetstream.Msg) { _ = m.Nak() }
	}
	f.ctx, f.stop = context.WithCancel(ctx)
	var pullers []*puller
	for i, q := range cfg.Queues {
		p, err := newPuller(f, q, i)
		if err != nil {
			for _, p := range pullers {
				_ = p.sub.Unsubscribe()
				if p.resumed != nil {
					_ = p.resumed.Unsubscribe()
				}
			}
			f.stop()
			return nil, err
		}
		pullers = append(pullers, p)
		f.byIn[p.inbox], f.bySubj[layout.QueueSubject(q)] = p, p
	}
	// A fixed pool: goroutines (and their grown stacks) are reused across jobs.
	f.pool = newHandlerPool(f.work, cfg.Concurrency, func(m *nats.Msg) {
		if job, ok := f.route(m); ok {
			handle(job)
			f.slots.release(1)
		}
	})
	for _, p := range pullers {
		f.pullers.Add(1)
		go func() {
			defer f.pullers.Done()
			p.loop()
		}()
	}
	// A server that comes back has forgotten every pull request: ask again
	// at once instead of waiting for the lost ones to expire.
	f.reconnect = cfg.Conn.StatusChanged(nats.CONNECTED, nats.CLOSED)
	f.watcher.Add(1)
	go func() {
		defer f.watcher.Done()
		for {
			select {
			case <-f.ctx.Done():
				return
			case st, ok := <-f.reconnect:
				if !ok || st == nats.CLOSED {
					return
				}
				for _, p := range pullers {
					p.forgetRequests()
				}
			}
		}
	}()
	return f, nil
}

// Hold stops new pull requests until Release; open ones still deliver.
// Holds nest.
func (f *Fetcher) Hold() { f.gate.hold() }

// Release undoes one Hold.
func (f *Fetcher) Release() { f.gate.release() }

// route finds the puller of a delivery on the pull inboxes and lets it
// account for it; ok means a job to run, in a slot reserved for it.
func (f *Fetcher) route(m *nats.Msg) (jetstream.Msg, bool) {
	if p := f.bySubj[m.Subject]; p != nil {
		return p.onMsg(m)
	}
	if i := strings.LastIndexByte(m.Subject, '.'); i > 0 {
		if p := f.byIn[m.Subject[:i]]; p != nil {
			return p.onMsg(m)
		}
	}
	return nil, false
}

// StopFetching ends every queue's pull requests and puts back what arrives
// meanwhile (see puller.endRequests). Handlers keep running. It is safe to
// call more than once.
func (f *Fetcher) StopFetching() {
	f.stop()
	f.pullers.Wait()
	f.side.Wait()
	f.cfg.Conn.RemoveStatusListener(f.reconnect)
	f.watcher.Wait()
}

// Drain waits up to d for the handlers to finish what they run and what is
// queued for them, after StopFetching; false if some still run then (call it
// again to keep waiting). Once it has returned true the pool is gone.
func (f *Fetcher) Drain(d time.Duration) bool {
	f.closeWork.Do(func() {
		close(f.work)
		f.drained = make(chan struct{})
		go func() { f.pool.close(); close(f.drained) }()
	})
	select {
	case <-f.drained:
		return true
	case <-time.After(d):
		return false
	}
}
