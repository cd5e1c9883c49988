package worker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/asyncpub"
	"github.com/naqgo/naq/internal/layout"
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
	o.cfg = o.cfg.withDefaults()
	if err := o.cfg.validate(); err != nil {
		return nil, err
	}
	mux := NewMux()
	mux.HandleFallback(o.fallback)
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

// Run consumes the queues until ctx is cancelled or the process receives
// SIGINT or SIGTERM, then shuts down gracefully: it stops fetching, lets
// running jobs finish within the shutdown timeout, cancels the rest and puts
// them back for immediate redelivery, and removes its record. It returns nil
// after a clean shutdown. A Worker runs once at a time.
func (w *Worker) Run(ctx context.Context) error {
	if !w.active.CompareAndSwap(false, true) {
		return errors.New("worker: already running")
	}
	defer w.active.Store(false)
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	r, err := w.start(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	w.once.Do(func() { close(w.ready) })
	<-ctx.Done()
	r.shutdown()
	return nil
}

// run is one Run of a worker: its managers and goroutines.
type run struct {
	w         *Worker
	sh        *Shared
	jobs      *JobStatusManager
	failed    *FailedJobHandler
	status    *StatusManager
	inflight  *inflight
	cancelled *cancelSet
	slots     *slots
	ackWait   time.Duration // the shortest of the queues' consumers

	processed, failedCount atomic.Int64

	work       chan *nats.Msg     // pull inbox deliveries, read by the pool of handler goroutines
	byInbox    map[string]*puller // routes a delivery's status by its inbox
	bySubject  map[string]*puller // routes a job by its queue subject
	writer     *asyncpub.Writer   // the job path's writes
	results    resultWriter       // results: batched when the bucket allows it
	writes     sync.WaitGroup     // jobs whose writes are in flight
	ioCtx      context.Context    // bookkeeping I/O; ends after the last job
	stopIO     context.CancelFunc
	fetchCtx   context.Context // ends when fetching must stop
	stopFetch  context.CancelFunc
	jobsCtx    context.Context // ends at forced shutdown (see cancelRunning)
	stopJobs   context.CancelFunc
	jobsBase   context.Context // jobsCtx's values without its cancellation: the handler contexts' parent
	bgCtx      context.Context // heartbeat and keepalive
	stopBg     context.CancelFunc
	pullers    sync.WaitGroup
	pool       *handlerPool // runs the deliveries on work
	background sync.WaitGroup
}

func (w *Worker) start(ctx context.Context) (*run, error) {
	sh, err := NewShared(w.nc, w.opts.cfg, w.opts.logger, NewIdentity(w.opts.name))
	if err != nil {
		return nil, err
	}
	r := &run{w: w, sh: sh, inflight: newInflight(), cancelled: &cancelSet{ids: map[string]struct{}{}}, slots: newSlots(sh.Config.Concurrency)}
	if r.jobs, err = NewJobStatusManager(ctx, sh); err != nil {
		return nil, err
	}
	if r.failed, err = NewFailedJobHandler(ctx, sh); err != nil {
		return nil, err
	}
	if r.status, err = NewStatusManager(ctx, sh, r.activity); err != nil {
		return nil, err
	}
	if err := r.status.SetState(ctx, naq.WorkerStarting); err != nil {
		return nil, err
	}
	stream, err := layout.EnsureJobsStream(ctx, sh.JS, sh.layout())
	if err != nil {
		return nil, err
	}
	r.ackWait = sh.Config.AckWait
	for _, q := range sh.Config.Queues {
		cons, err := layout.EnsureConsumer(ctx, stream, q, r.consumerConfig())
		if err != nil {
			return nil, err
		}
		// A consumer another naq made keeps its ack wait: keep jobs alive
		// within the shortest.
		r.ackWait = min(r.ackWait, cons.CachedInfo().Config.AckWait)
	}
	// Handler and background contexts do not derive from ctx: a stop signal
	// must not cancel running jobs, only the shutdown timeout does.
	r.fetchCtx, r.stopFetch = context.WithCancel(ctx)
	r.jobsCtx, r.stopJobs = context.WithCancel(context.WithoutCancel(ctx))
	r.jobsBase = context.WithoutCancel(r.jobsCtx)
	r.bgCtx, r.stopBg = context.WithCancel(context.WithoutCancel(ctx))
	r.ioCtx, r.stopIO = context.WithCancel(context.WithoutCancel(ctx))
	if err := r.watchCancellations(ctx); err != nil {
		r.abortStart(ctx)
		return nil, err
	}
	if r.writer, err = asyncpub.NewWriter(sh.Conn, 4*sh.Config.Concurrency); err != nil {
		r.abortStart(ctx)
		return nil, err
	}
	r.results = r.writer
	if r.jobs.batched {
		// The server confirms about every quarter of the slots' results at
		// once; a pause of a millisecond ends the batch.
		c := sh.Config.Concurrency
		if r.results, err = asyncpub.NewBatchWriter(sh.Conn, r.writer, 4*c, max(1, c/4), time.Millisecond); err != nil {
			r.abortStart(ctx)
			return nil, err
		}
	}
	// Every queue's pull inbox delivers straight into one channel that the
	// pool of handler goroutines reads: no goroutine in between. Room for
	// every reserved slot twice over, and the statuses, so nothing is ever
	// dropped as a slow consumer.
	r.work = make(chan *nats.Msg, 2*sh.Config.Concurrency+16*len(sh.Config.Queues)+64)
	r.byInbox, r.bySubject = map[string]*puller{}, map[string]*puller{}
	var pullers []*puller
	for _, q := range sh.Config.Queues {
		p, err := newPuller(r, q)
		if err != nil {
			for _, p := range pullers {
				_ = p.sub.Unsubscribe()
			}
			r.work = nil
			r.abortStart(ctx)
			return nil, err
		}
		pullers = append(pullers, p)
		r.byInbox[p.inbox], r.bySubject[layout.QueueSubject(q)] = p, p
	}
	// A fixed pool: goroutines (and their grown stacks) are reused across jobs.
	r.pool = newHandlerPool(r.work, sh.Config.Concurrency, func(m *nats.Msg) {
		if job, ok := r.route(m); ok {
			r.process(job)
			r.release(1)
		}
	})
	r.goBackground(func() { r.status.Run(r.bgCtx) })
	r.goBackground(r.keepalive)
	for _, p := range pullers {
		r.pullers.Add(1)
		go func() {
			defer r.pullers.Done()
			p.loop()
		}()
	}
	if err := r.status.SetState(ctx, ""); err != nil {
		sh.Logger.Warn("heartbeat failed", "err", err)
	}
	sh.Logger.Info("worker started", "queues", sh.Config.Queues, "concurrency", sh.Config.Concurrency)
	return r, nil
}

// reprovision makes sure queue q's stream and consumer exist again, after the
// server answered a pull as if they did not.
func (r *run) reprovision(q string) {
	ctx, cancel := context.WithTimeout(r.ioCtx, 10*time.Second)
	defer cancel()
	stream, err := layout.EnsureJobsStream(ctx, r.sh.JS, r.sh.layout())
	if err == nil {
		_, err = layout.EnsureConsumer(ctx, stream, q, r.consumerConfig())
	}
	if err != nil {
		r.sh.Logger.Warn("could not provision the queue again", "queue", q, "err", err)
	}
}

func (r *run) consumerConfig() layout.ConsumerConfig {
	return layout.ConsumerConfig{AckWait: r.sh.Config.AckWait, MaxAckPending: r.sh.Config.MaxAckPending}
}

// abortStart undoes a start that failed after its contexts were made.
func (r *run) abortStart(ctx context.Context) {
	r.stopFetch()
	r.pullers.Wait()
	if r.work != nil {
		close(r.work)
		if r.pool != nil {
			r.pool.close()
		}
	}
	r.closeWriters()
	r.cancelRunning()
	r.stopIO()
	r.stopBg()
	r.background.Wait()
	_ = r.status.Unregister(context.WithoutCancel(ctx))
}

// resultWriter writes results: asyncpub's plain or batch writer.
type resultWriter interface {
	Write(ctx context.Context, msg *nats.Msg, done func(error))
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
	return Activity{RunningJobs: r.inflight.ids(), Processed: r.processed.Load(), Failed: r.failedCount.Load()}
}

// shutdown stops fetching, waits for running jobs up to the shutdown timeout,
// cancels the rest (their handlers put them back), and unregisters.
func (r *run) shutdown() {
	sh := r.sh
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.status.SetState(ctx, naq.WorkerStopping); err != nil {
		sh.Logger.Warn("heartbeat failed", "err", err)
	}
	r.stopFetch()
	r.pullers.Wait()
	close(r.work)
	done := make(chan struct{})
	go func() { r.pool.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(sh.Config.ShutdownTimeout):
		sh.Logger.Warn("shutdown timeout reached; cancelling running jobs", "running", r.inflight.len())
		r.cancelRunning()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			sh.Logger.Error("handlers ignored cancellation; their jobs return after the ack wait", "running", r.inflight.len())
		}
	}
	r.cancelRunning()
	// Writes of finished jobs complete (or time out) before the writer goes.
	written := make(chan struct{})
	go func() { r.writes.Wait(); close(written) }()
	select {
	case <-written:
	case <-time.After(ioTimeout + time.Second):
		sh.Logger.Warn("result writes unanswered at shutdown; their jobs return after the ack wait",
			"pending", r.writer.Pending()+r.results.Pending())
	}
	r.closeWriters()
	r.stopIO()
	r.stopBg()
	r.background.Wait()
	if err := r.status.Unregister(ctx); err != nil {
		sh.Logger.Warn("could not remove worker record", "err", err)
	}
	sh.Logger.Info("worker stopped", "processed", r.processed.Load(), "failed", r.failedCount.Load())
}

// keepalive sends InProgress for running jobs well within the ack wait, and
// writes a running status record for jobs that run longer than a moment (fast
// jobs go straight from enqueued to their result).
func (r *run) keepalive() {
	touchEvery := r.ackWait / 5
	markAfter := 500 * time.Millisecond
	t := time.NewTicker(min(markAfter, touchEvery))
	defer t.Stop()
	for {
		select {
		case <-r.bgCtx.Done():
			return
		case now := <-t.C:
			r.results.Sweep(ioTimeout)
			r.writer.Sweep(ioTimeout)
			// The running record is sent while the job is still registered,
			// so it always goes out before the job's final record.
			touch := r.inflight.due(now, now.Add(-touchEvery), now.Add(-markAfter), func(j *running) {
				st := r.statusOf(j.job, naq.StateRunning)
				st.StartedAt, st.Naks = j.started, j.naks
				if _, err := r.jobs.PublishStatus(st); err != nil {
					r.sh.Logger.Warn("status write failed", "job", j.job.ID, "err", err)
				}
			})
			for _, m := range touch {
				_ = m.InProgress()
			}
		}
	}
}

func (r *run) statusOf(j *naq.Job, s naq.State) *naq.JobStatus {
	return &naq.JobStatus{
		JobID: j.ID, State: s, Name: j.Name, Queue: j.Queue, Attempts: j.Attempt,
		MaxRetries: j.MaxRetries, WorkerID: r.sh.Identity.ID, EnqueuedAt: j.EnqueuedAt,
	}
}

// cancelRunning cancels every running handler (a forced shutdown). Handler
// contexts do not derive from jobsCtx: a job registers its own cancel func in
// inflight, which keeps 200 concurrent jobs off one parent context's lock. A
// job added after the sweep sees jobsCtx ended and cancels itself.
func (r *run) cancelRunning() {
	r.stopJobs()
	r.inflight.cancelAll(context.Canceled)
}
