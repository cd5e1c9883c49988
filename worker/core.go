package worker

// The Worker, and one Run of it: the parts it starts in order and the one
// teardown that stops them. Not here: the job path (admit.go, execute.go,
// settle.go), fetching (internal/fetch) and the three managers.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/asyncpub"
	"github.com/naqgo/naq/internal/jobctx"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker/internal/fetch"
)

// Worker consumes queues and runs their jobs. Register handlers, then call Run.
type Worker struct {
	nc     *nats.Conn
	opts   options
	mux    *Mux
	active atomic.Bool
	ready  chan struct{}
	once   sync.Once
}

// New returns a worker on nc; the caller owns nc. Configuration errors are
// reported here, before anything runs.
func New(nc *nats.Conn, opts ...Option) (*Worker, error) {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	o.cfg = o.config().withDefaults()
	if err := o.cfg.validate(); err != nil {
		return nil, err
	}
	mux := NewMux()
	mux.HandleFallback(o.fallback)
	mux.Use(o.mw...)
	return &Worker{nc: nc, opts: o, mux: mux, ready: make(chan struct{})}, nil
}

// Ready is closed once the worker has provisioned its streams and consumers
// and started fetching jobs.
func (w *Worker) Ready() <-chan struct{} { return w.ready }

// Handle registers h for jobs named name.
func (w *Worker) Handle(name string, h Handler) { w.mux.Handle(name, h) }

// HandleFunc registers f for jobs named name.
func (w *Worker) HandleFunc(name string, f func(ctx context.Context, job *naq.Job) (any, error)) {
	w.mux.HandleFunc(name, f)
}

// Use adds middleware around every handler.
func (w *Worker) Use(mw ...Middleware) { w.mux.Use(mw...) }

// Config returns the worker's configuration with defaults filled in.
func (w *Worker) Config() Config { return w.opts.cfg }

// Run consumes the queues until ctx ends, then shuts down gracefully: it
// stops fetching, lets running jobs finish within the shutdown timeout,
// cancels the rest and puts them back for immediate redelivery, and removes
// its record. It returns nil after a clean shutdown. A Worker runs once at a
// time.
//
// Run does not handle signals: the program decides what stops it, usually
// with signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM).
func (w *Worker) Run(ctx context.Context) error {
	if !w.active.CompareAndSwap(false, true) {
		return errors.New("worker: already running")
	}
	defer w.active.Store(false)

	r, err := w.start(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	w.once.Do(func() { close(w.ready) })
	<-ctx.Done()
	r.stop()
	return nil
}

// run is one Run of a worker: its managers, the fetcher that brings its
// jobs, the writers that settle them, and the goroutines beside them.
type run struct {
	w         *Worker
	sh        *Shared
	jobs      *JobStatusManager
	failed    *FailedJobHandler
	status    *StatusManager
	inflight  *inflight
	cancelled *cancelSet
	ackWait   time.Duration // the shortest of the queues' consumers
	unique    uniqueLocks
	waiting   dependentsIndex
	progress  progressBook
	limits    *limiter // nil without rate limits

	tally
	perQueue []queueCounters // by the index of the queue in Config.Queues
	obs      *observer       // events and metrics; nil when off

	fetcher *fetch.Fetcher
	// reconnected is when the connection last came back (Unix nanoseconds;
	// 0: never), for sinceReconnect.
	reconnected atomic.Int64
	writer      *asyncpub.Writer // the job path's writes
	results     resultWriter     // results: batched when the bucket allows it
	// retrying holds jobs whose writes failed, waiting to write again.
	retrying retrySet

	// Handler contexts derive from base, Run's context without its
	// cancellation: a stop must not cancel running jobs, only the shutdown
	// timeout does (forced). Bookkeeping I/O (io) ends after the last job's
	// writes; the heartbeat, keepalive and cancellation watch (bg) last.
	base       context.Context
	forced     atomic.Bool
	io         context.Context
	stopIO     context.CancelFunc
	bg         context.Context
	stopBg     context.CancelFunc
	background sync.WaitGroup
	started    bool
}

// tally is what every job writes in the run, on cache lines of its own: the
// handlers read the run's other fields on every job, and a count written
// beside them by the goroutine that takes the writes' answers, on the other
// core, would move their line back and forth between the cores.
type tally struct {
	_                      [64]byte
	processed, failedCount atomic.Int64
	writes                 sync.WaitGroup // jobs whose writes are in flight
	_                      [64]byte
}

// start provisions, then starts each part in order: managers, writers,
// background goroutines, and last the fetcher. A failure undoes what was
// started through stop, the same teardown as a shutdown.
func (w *Worker) start(ctx context.Context) (*run, error) {
	sh, err := NewShared(w.nc, w.opts.cfg, w.opts.logger, NewIdentity(w.opts.name))
	if err != nil {
		return nil, err
	}
	r := &run{w: w, sh: sh, inflight: newInflight(), cancelled: &cancelSet{ids: map[string]struct{}{}},
		perQueue: make([]queueCounters, len(sh.Config.Queues)), obs: w.newObserver(sh)}
	if r.jobs, err = NewJobStatusManager(ctx, sh); err != nil {
		return nil, err
	}
	if r.failed, err = NewFailedJobHandler(ctx, sh); err != nil {
		return nil, err
	}
	if r.status, err = NewStatusManager(ctx, sh, r.activity); err != nil {
		return nil, err
	}
	if r.limits, err = newLimiter(ctx, sh); err != nil {
		return nil, err
	}
	if err := r.status.SetState(ctx, naq.WorkerStarting); err != nil {
		return nil, err
	}
	if err := r.provisionQueues(ctx); err != nil {
		return nil, err
	}
	r.waiting.provision(ctx, sh)
	r.base = jobctx.WithReporter(context.WithoutCancel(ctx), r)
	r.bg, r.stopBg = context.WithCancel(r.base)
	r.io, r.stopIO = context.WithCancel(r.base)
	if err := r.startParts(ctx); err != nil {
		r.stop()
		return nil, err
	}
	r.started = true
	if err := r.status.SetState(ctx, ""); err != nil {
		sh.Logger.Warn("heartbeat failed", "err", err)
	}
	sh.Logger.Info("worker started", "queues", sh.Config.Queues, "concurrency", sh.Config.Concurrency)
	if r.obs != nil {
		r.obs.worker(naq.EventWorkerStarted, sh.Config.Queues)
	}
	return r, nil
}

// provisionQueues makes the jobs stream and each queue's consumer exist.
func (r *run) provisionQueues(ctx context.Context) error {
	stream, err := layout.EnsureJobsStream(ctx, r.sh.JS, r.sh.layout())
	if err != nil {
		return err
	}
	r.ackWait = r.sh.Config.AckWait
	for _, q := range r.sh.Config.Queues {
		cons, err := layout.EnsureConsumer(ctx, stream, q, r.consumerConfig(q))
		if err != nil {
			return err
		}
		// A consumer another naq made keeps its ack wait: keep jobs alive
		// within the shortest.
		r.ackWait = min(r.ackWait, cons.CachedInfo().Config.AckWait)
	}
	return nil
}

// startParts starts what stop tears down, in the opposite order.
func (r *run) startParts(ctx context.Context) error {
	sh := r.sh
	if err := r.watchCancellations(ctx); err != nil {
		return err
	}
	var err error
	if r.writer, err = asyncpub.NewWriter(sh.Conn, 4*sh.Config.Concurrency); err != nil {
		return err
	}
	r.results = r.writer
	if r.jobs.batched {
		// The server confirms about every quarter of the slots' results at
		// once; a pause of a millisecond ends the batch.
		c := sh.Config.Concurrency
		if r.results, err = asyncpub.NewBatchWriter(sh.Conn, r.writer, 4*c, max(1, c/4), time.Millisecond); err != nil {
			return err
		}
	}
	r.goBackground(func() { r.status.Run(r.bg) })
	r.goBackground(r.keepalive)
	r.fetcher, err = fetch.Start(ctx, fetch.Config{
		Conn: sh.Conn, Queues: sh.Config.Queues, Concurrency: sh.Config.Concurrency, PollWait: sh.Config.PollWait,
		Logger: sh.Logger, Reprovision: r.reprovision, PutBack: r.putBack,
		Weights: sh.Config.weights(), StrictPriority: sh.Config.StrictPriority,
		Capped: sh.Config.capped(), AckWait: r.ackWait, NewMsg: newDelivery,
		OnReconnect: func(at time.Time) { r.reconnected.Store(at.UnixNano()) },
	}, r.process)
	return err
}

// reprovision makes sure queue q's stream and consumer exist again, after the
// server answered a pull as if they did not.
func (r *run) reprovision(ctx context.Context, q string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := layout.EnsureJobsStream(ctx, r.sh.JS, r.sh.layout())
	if err == nil {
		_, err = layout.EnsureConsumer(ctx, stream, q, r.consumerConfig(q))
	}
	if err != nil && ctx.Err() == nil {
		r.sh.Logger.Warn("could not provision the queue again", "queue", q, "err", err)
	}
}

func (r *run) consumerConfig(q string) layout.ConsumerConfig {
	c := layout.ConsumerConfig{AckWait: r.sh.Config.AckWait, MaxAckPending: r.sh.Config.MaxAckPending}
	if n, ok := r.sh.Config.MaxRunning[q]; ok {
		c.MaxRunning = n
		if n == 0 {
			c.MaxRunning = -1 // lift the cap
		}
	}
	return c
}

// stop is the one teardown, for a shutdown and for a start that failed
// midway (parts not started are skipped): stop fetching; let running jobs
// finish within the shutdown timeout, then cancel the rest (their handlers
// put them back); wait for the last writes; stop the writers and the
// background goroutines; remove the worker's record.
func (r *run) stop() {
	sh := r.sh
	deadline := time.Now().Add(sh.Config.ShutdownTimeout)
	if r.started {
		r.bookkeeping(func(ctx context.Context) error { return r.status.SetState(ctx, naq.WorkerStopping) })
	}
	if r.fetcher != nil {
		r.fetcher.StopFetching()
		if !r.fetcher.Drain(time.Until(deadline)) {
			sh.Logger.Warn("shutdown timeout reached; cancelling running jobs", "running", r.inflight.len())
			r.cancelRunning()
			if !r.fetcher.Drain(5 * time.Second) {
				sh.Logger.Error("handlers ignored cancellation; their jobs return after the ack wait", "running", r.inflight.len())
			}
		}
	}
	r.cancelRunning()
	r.awaitWrites(max(time.Until(deadline), time.Second))
	if r.stopIO != nil {
		r.stopIO()
	}
	r.retrying.abandon()
	r.closeWriters()
	if r.stopBg != nil {
		r.stopBg()
	}
	r.background.Wait()
	r.bookkeeping(r.status.Unregister)
	if r.started {
		sh.Logger.Info("worker stopped", "processed", r.processed.Load(), "failed", r.failedCount.Load())
		if r.obs != nil {
			r.obs.worker(naq.EventWorkerStopped, sh.Config.Queues)
			_ = sh.Conn.Flush() // the last event goes out before the caller closes the connection
		}
	}
}

// bookkeeping runs a write of the worker's own record during a stop: briefly,
// and not at all while the connection is down, so a stop after a server loss
// does not wait on it.
func (r *run) bookkeeping(write func(context.Context) error) {
	if !r.sh.Conn.IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := write(ctx); err != nil {
		r.sh.Logger.Warn("could not update the worker's record", "err", err)
	}
}

// awaitWrites lets the writes of finished jobs complete (or time out) before
// the writers go, waiting at most d.
func (r *run) awaitWrites(d time.Duration) {
	written := make(chan struct{})
	go func() { r.writes.Wait(); close(written) }()
	select {
	case <-written:
	case <-time.After(d):
		r.sh.Logger.Warn("result writes unanswered at shutdown; their jobs return after the ack wait",
			"pending", r.writer.Pending()+r.results.Pending())
	}
}

// resultWriter writes results: asyncpub's plain or batch writer.
type resultWriter interface {
	WriteTo(ctx context.Context, msg *nats.Msg, done asyncpub.Callback)
	Sweep(timeout time.Duration)
	Pending() int
	Close()
}

// closeWriters closes the result writer, then the plain one it falls back on.
func (r *run) closeWriters() {
	if r.results != nil && r.results != resultWriter(r.writer) {
		r.results.Close()
	}
	if r.writer != nil {
		r.writer.Close()
	}
}

func (r *run) goBackground(f func()) {
	r.background.Add(1)
	go func() {
		defer r.background.Done()
		f()
	}()
}

func (r *run) activity() Activity {
	return Activity{RunningJobs: r.inflight.ids(), Processed: r.processed.Load(), Failed: r.failedCount.Load(),
		QueueStats: r.queueStats()}
}

// cancelRunning cancels every running handler (a forced shutdown). Handler
// contexts do not share a cancellable parent: a job registers its own cancel
// func in inflight, which keeps 200 concurrent jobs off one parent context's
// lock. A job added after the sweep sees forced set and cancels itself.
func (r *run) cancelRunning() {
	r.forced.Store(true)
	r.inflight.cancelAll(context.Canceled)
}
