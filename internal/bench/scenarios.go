package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker"
)

const (
	queue      = "bench"
	jobName    = "bench:send_welcome_email"
	rawStream  = "bench_raw"
	rawSubject = "bench_raw.queue.bench"
	rawDurable = "bench-raw"
	resultsKV  = "KV_" + layout.ResultsBucket
)

// welcomeArgs are the arguments of the benchmark's job: a typical small job
// whose wire form is about 300 bytes.
type welcomeArgs struct {
	UserID int64 `json:"user_id"`
}

var sampleArgs = welcomeArgs{UserID: 4821337}

// env is everything the scenarios share: a bare JetStream handle and its own
// stream for the raw runs, a naq client, and a connection for the workers.
type env struct {
	cfg      Config
	js       jetstream.JetStream // raw runs and bookkeeping
	raw      jetstream.Stream
	jobs     jetstream.Stream
	results  jetstream.Stream
	client   *naq.Client
	workerNC *nats.Conn
	logger   *slog.Logger
	payload  []byte // an encoded naq job, the raw runs' message body

	// processed and stored count what the last naqProcess saw: jobs taken
	// off the queue and results in the results bucket.
	processed, stored int64
	floorRuns         int
}

func newEnv(ctx context.Context, cfg Config, rawNC, clientNC, workerNC *nats.Conn) (*env, error) {
	e := &env{cfg: cfg, workerNC: workerNC, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if e.js, err = jetstream.New(rawNC); err != nil {
		return nil, err
	}
	// The raw stream is configured as naq_jobs is, under another name.
	sc := layout.JobsStreamConfig(layout.Config{})
	sc.Name, sc.Subjects, sc.Description = rawStream, []string{"bench_raw.queue.*"}, "naq benchmark: raw JetStream baseline"
	if e.raw, err = e.js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil, err
	}
	if e.client, err = naq.NewClient(ctx, clientNC, naq.WithDefaultQueue(queue), naq.WithLogger(e.logger)); err != nil {
		return nil, err
	}
	if e.jobs, err = e.js.Stream(ctx, layout.JobsStream); err != nil {
		return nil, err
	}
	if e.results, err = e.js.Stream(ctx, resultsKV); err != nil {
		return nil, err
	}
	j, err := naq.NewJob(jobName, sampleArgs, naq.Queue(queue))
	if err != nil {
		return nil, err
	}
	if e.payload, err = j.Encode(); err != nil {
		return nil, err
	}
	return e, nil
}

// roundResult holds one round's runs by scenario name.
type roundResult struct {
	naq, raw           map[string]run
	processed, results int64
}

// round runs every scenario once. Within each pair the raw and naq runs
// alternate which goes first from round to round, so neither always meets a
// freshly compacted store or a warm cache.
func (e *env) round(ctx context.Context, first bool) (*roundResult, error) {
	res := &roundResult{naq: map[string]run{}, raw: map[string]run{}}
	pair := func(rawFn, naqFn func() error) error {
		if first {
			if err := rawFn(); err != nil {
				return err
			}
			return naqFn()
		}
		if err := naqFn(); err != nil {
			return err
		}
		return rawFn()
	}
	set := func(m map[string]run, name string, f func(context.Context) (run, error)) func() error {
		return func() error {
			r, err := f(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			m[name] = r
			return nil
		}
	}
	steps := []func() error{
		// Acked enqueue and its floor, in turns; the streams are emptied
		// afterwards.
		func() error {
			raw, floor, n, err := e.enqueueTurns(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", Enqueue, err)
			}
			res.raw[Enqueue], res.naq[EnqueueFloor], res.naq[Enqueue] = raw, floor, n
			return nil
		},
		// Bulk enqueue; both streams keep their N messages for processing.
		func() error {
			return pair(set(res.raw, Bulk, e.rawPublishAsync), set(res.naq, Bulk, e.naqEnqueueMany))
		},
		func() error {
			return pair(set(res.raw, Process, e.rawConsume), set(res.naq, Process, e.naqProcess))
		},
		func() error {
			r, err := e.naqProcessObserved(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", ProcessObserved, err)
			}
			res.naq[ProcessObserved] = r
			return nil
		},
		set(res.naq, BulkAtomic, e.naqEnqueueAtomic),
		set(res.naq, BulkFloor, e.floorBulk),
		set(res.naq, ProcessFloor, e.floorProcess),
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	res.raw[BulkAtomic] = res.raw[Bulk]
	res.raw[BulkFloor] = res.raw[Bulk]
	res.raw[EnqueueFloor] = res.raw[Enqueue]
	res.raw[ProcessFloor] = res.raw[Process]
	res.raw[ProcessObserved] = res.naq[Process]
	res.processed, res.results = e.processed, e.stored
	return res, nil
}

// rawPublishAsync publishes N messages asynchronously and waits for all acks.
// The messages stay for rawConsume.
func (e *env) rawPublishAsync(ctx context.Context) (run, error) {
	r, err := e.publishAsync(ctx, nil)
	if err != nil {
		return run{}, err
	}
	return r, e.expect(ctx, e.raw, e.cfg.Jobs)
}

// publishAsync times N asynchronous publishes of the payload to the raw
// stream, the i-th with the options opts(i) (nil: none), until every ack is in.
func (e *env) publishAsync(ctx context.Context, opts func(i int) []jetstream.PublishOpt) (run, error) {
	n := e.cfg.Jobs
	t := startTimer()
	for i := range n {
		var o []jetstream.PublishOpt
		if opts != nil {
			o = opts(i)
		}
		if err := e.publishRaw(o); err != nil {
			return run{}, err
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-ctx.Done():
		return run{}, ctx.Err()
	}
	return t.stop(n), nil
}

// rawConsume consumes and acks the N messages of the raw stream with a
// durable consumer configured as a naq worker's, through Consume() with its
// default options, and waits until the stream is empty.
func (e *env) rawConsume(ctx context.Context) (run, error) {
	n := e.cfg.Jobs
	t := startTimer()
	c, err := e.raw.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: rawDurable, FilterSubject: rawSubject, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: layout.DefaultAckWait, MaxAckPending: 10000, MaxDeliver: -1,
	})
	if err != nil {
		return run{}, err
	}
	var acked atomic.Int64
	cc, err := c.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		acked.Add(1)
	})
	if err != nil {
		return run{}, err
	}
	err = waitUntil(ctx, e.timeout(), &acked, n, func() (bool, error) {
		msgs, err := streamMsgs(ctx, e.raw)
		return msgs == 0, err
	})
	r := t.stop(n)
	cc.Stop()
	<-cc.Closed()
	if err != nil {
		return run{}, fmt.Errorf("waiting for the raw stream to empty: %w", err)
	}
	// Pull requests outlive Stop on the server: deleting the consumer keeps
	// them from taking the next round's messages.
	return r, e.raw.DeleteConsumer(ctx, rawDurable)
}

// naqEnqueueMany builds N jobs and enqueues them with one EnqueueMany call.
// The jobs stay for naqProcess.
func (e *env) naqEnqueueMany(ctx context.Context) (run, error) {
	n := e.cfg.Jobs
	t := startTimer()
	jobs := make([]*naq.Job, n)
	for i := range jobs {
		j, err := naq.NewJob(jobName, sampleArgs)
		if err != nil {
			return run{}, err
		}
		jobs[i] = j
	}
	if err := e.client.EnqueueMany(ctx, jobs); err != nil {
		return run{}, err
	}
	r := t.stop(n)
	return r, e.expect(ctx, e.jobs, n)
}

// naqEnqueueAtomic builds and enqueues N jobs in all-or-nothing batches of
// naq.MaxAtomicBatch.
func (e *env) naqEnqueueAtomic(ctx context.Context) (run, error) {
	n := e.cfg.Jobs
	t := startTimer()
	batch := make([]*naq.Job, 0, naq.MaxAtomicBatch)
	for done := 0; done < n; done += len(batch) {
		batch = batch[:0]
		for range min(naq.MaxAtomicBatch, n-done) {
			j, err := naq.NewJob(jobName, sampleArgs)
			if err != nil {
				return run{}, err
			}
			batch = append(batch, j)
		}
		if err := e.client.EnqueueMany(ctx, batch, naq.AllOrNothing()); err != nil {
			return run{}, err
		}
	}
	r := t.stop(n)
	return r, e.expectAndPurge(ctx, e.jobs, n)
}

// naqProcess starts a worker with a no-op handler on the N queued jobs and
// times it until the queue is empty and all N results are stored. The results
// bucket is emptied afterwards.
func (e *env) naqProcess(ctx context.Context) (run, error) { return e.naqProcessWith(ctx) }

// naqProcessWith is naqProcess with more worker options.
func (e *env) naqProcessWith(ctx context.Context, opts ...worker.Option) (run, error) {
	n := e.cfg.Jobs
	e.processed, e.stored = 0, 0
	queued, err := streamMsgs(ctx, e.jobs)
	if err != nil {
		return run{}, err
	}
	if err := e.results.Purge(ctx); err != nil {
		return run{}, err
	}
	w, err := worker.New(e.workerNC, append([]worker.Option{worker.WithQueues(queue), worker.WithConcurrency(e.cfg.Concurrency),
		worker.WithLogger(e.logger), worker.WithName("naqbench")}, opts...)...)
	if err != nil {
		return run{}, err
	}
	var handled atomic.Int64
	w.HandleFunc(jobName, func(context.Context, *naq.Job) (any, error) {
		handled.Add(1)
		return nil, nil
	})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	t := startTimer()
	go func() { done <- w.Run(wctx) }()
	err = waitUntil(ctx, e.timeout(), &handled, n, func() (bool, error) {
		left, err := streamMsgs(ctx, e.jobs)
		if err != nil || left > 0 {
			return false, err
		}
		stored, err := streamMsgs(ctx, e.results)
		return stored >= uint64(n), err
	})
	r := t.stop(n)
	stop()
	if runErr := <-done; err == nil && runErr != nil {
		err = fmt.Errorf("worker: %w", runErr)
	}
	if err != nil {
		return run{}, fmt.Errorf("waiting for %d jobs to be processed: %w", n, err)
	}
	left, err := streamMsgs(ctx, e.jobs)
	if err != nil {
		return run{}, err
	}
	stored, err := streamMsgs(ctx, e.results)
	if err != nil {
		return run{}, err
	}
	e.processed, e.stored = int64(queued-left), int64(stored)
	if left != 0 || stored != uint64(n) {
		return run{}, fmt.Errorf("%d jobs left and %d results stored for %d jobs", left, stored, n)
	}
	// As in rawConsume, a fresh consumer each round.
	if err := e.jobs.DeleteConsumer(ctx, layout.ConsumerName(queue)); err != nil {
		return run{}, err
	}
	return r, e.results.Purge(ctx)
}

// timeout bounds one wait: generous, as the point is to finish, not to judge.
func (e *env) timeout() time.Duration {
	return max(time.Minute, time.Duration(e.cfg.Jobs)*time.Millisecond)
}

// expect checks that s holds exactly n messages.
func (e *env) expect(ctx context.Context, s jetstream.Stream, n int) error {
	msgs, err := streamMsgs(ctx, s)
	if err != nil {
		return err
	}
	if msgs != uint64(n) {
		return fmt.Errorf("stream %s holds %d messages, want %d", s.CachedInfo().Config.Name, msgs, n)
	}
	return nil
}

func (e *env) expectAndPurge(ctx context.Context, s jetstream.Stream, n int) error {
	if err := e.expect(ctx, s, n); err != nil {
		return err
	}
	return s.Purge(ctx)
}

func streamMsgs(ctx context.Context, s jetstream.Stream) (uint64, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitUntil polls cond every 2 ms until it holds, fails, or timeout passes.
// cond asks the server for stream info, which the server computes and both
// sides encode and decode with CPU taken from the run being timed (a large
// share of it at one or two requests every 2 ms: see docs/benchmarks.md), so
// it is asked only once handled, the side's own count, reaches n.
func waitUntil(ctx context.Context, timeout time.Duration, handled *atomic.Int64, n int, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if handled.Load() >= int64(n) {
			ok, err := cond()
			if err != nil || ok {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
