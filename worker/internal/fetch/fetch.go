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
	// Capped, per queue (in the order of Queues), marks a queue whose
	// running jobs are capped across workers (WithMaxRunning): with several
	// queues it only listens (listen.go).
	Capped []bool
	// NewMsg, when set, allocates each delivered job's Msg, so a worker
	// can keep it inside its own record of the job (see Msg.Owner).
	NewMsg func() *Msg
	// OnReconnect, when set, is told each time the connection came back
	// after a loss, before the fetcher asks for jobs again.
	OnReconnect func(at time.Time)
	// AckWait is the shortest ack wait of the queues' consumers: a job that
	// waits for a slot is kept alive well within it (default: naq's).
	AckWait time.Duration
}

// Fetcher pulls jobs for every queue of one worker and runs them.
type Fetcher struct {
	cfg    Config
	slots  *slots
	work   chan *nats.Msg // every queue's pull inbox delivers here
	byIn   map[string]*puller
	bySubj map[string]*puller
	pool   *handlerPool
	handle func(jetstream.Msg)

	// shared: several queues share the slots, and idle ones listen without
	// one (listen.go); a batch for a backlog waits up to batchWait, a
	// listening request up to listenWait; jobs waiting for a slot are kept
	// alive every keepEvery.
	shared                bool
	batchWait, listenWait time.Duration
	keepEvery             time.Duration
	pullers               []*puller // by queue index
	// The listening requests of every queue reply on one inbox, handled by
	// one goroutine (listen.go).
	listenIn  string
	listenSub *nats.Subscription
	listened  chan *nats.Msg
	listenEnd chan struct{}
	listener  sync.WaitGroup
	endListen sync.Once

	ctx     context.Context // ends when fetching must stop
	stop    context.CancelFunc
	running sync.WaitGroup // the pullers' loops
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
		handle: handle, shared: len(cfg.Queues) > 1,
		batchWait: sharedPollWait, listenWait: min(cfg.PollWait, 5*time.Second),
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
	if f.cfg.AckWait <= 0 {
		f.cfg.AckWait = layout.DefaultAckWait
	}
	f.keepEvery = f.cfg.AckWait / 5
	f.slots.start = f.runGranted
	if f.cfg.PutBack == nil {
		f.cfg.PutBack = func(m jetstream.Msg) { _ = m.Nak() }
	}
	f.ctx, f.stop = context.WithCancel(ctx)
	if f.shared {
		f.listenIn, f.listenEnd = cfg.Conn.NewInbox(), make(chan struct{})
		f.listened = make(chan *nats.Msg, 16*len(cfg.Queues)+64)
		sub, err := cfg.Conn.ChanSubscribe(f.listenIn+".*.*", f.listened)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.listenSub = sub
	}
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
			if f.listenSub != nil {
				_ = f.listenSub.Unsubscribe()
			}
			f.stop()
			return nil, err
		}
		pullers = append(pullers, p)
		f.byIn[p.inbox], f.bySubj[layout.QueueSubject(q)] = p, p
	}
	// A fixed pool: goroutines (and their grown stacks) are reused across jobs.
	run := func(m *nats.Msg) {
		if job, ok := f.route(m); ok {
			handle(job)
			f.slots.release(1)
		}
	}
	if f.shared {
		run = f.sharedHandler(handle)
	}
	f.pool = newHandlerPool(f.work, cfg.Concurrency, run)
	f.pullers = pullers
	if f.shared {
		f.listener.Add(1)
		go f.listen()
	}
	for _, p := range pullers {
		f.running.Add(1)
		go func() {
			defer f.running.Done()
			p.loop()
		}()
	}
	// A server that comes back has forgotten every pull request: ask again
	// at once instead of waiting for the lost ones to expire.
	f.reconnect = cfg.Conn.StatusChanged(nats.CONNECTED, nats.CLOSED)
	f.watcher.Add(1)
	go func() {
		defer f.watcher.Done()
		var keep <-chan time.Time // jobs waiting for a slot (listen.go)
		if f.shared {
			t := time.NewTicker(f.keepEvery)
			defer t.Stop()
			keep = t.C
		}
		for {
			select {
			case <-f.ctx.Done():
				return
			case now := <-keep:
				f.keepWaitingAlive(now)
			case st, ok := <-f.reconnect:
				if !ok || st == nats.CLOSED {
					return
				}
				if f.cfg.OnReconnect != nil {
					f.cfg.OnReconnect(time.Now())
				}
				for _, p := range pullers {
					p.forgetRequests()
				}
			}
		}
	}()
	return f, nil
}

// newMsg is the Msg of a delivered job.
func (f *Fetcher) newMsg(m *nats.Msg) *Msg {
	var msg *Msg
	if f.cfg.NewMsg != nil {
		msg = f.cfg.NewMsg()
	} else {
		msg = new(Msg)
	}
	msg.m, msg.nc = m, f.cfg.Conn
	return msg
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
	f.endListen.Do(f.endListening)
	f.running.Wait()
	// Every request has ended: jobs still waiting for a slot go back.
	for _, m := range f.slots.closeJobs() {
		f.cfg.PutBack(m)
	}
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
		go func() { f.pool.close(); f.slots.jobs.Wait(); close(f.drained) }()
	})
	select {
	case <-f.drained:
		return true
	case <-time.After(d):
		return false
	}
}
