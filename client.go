package naq

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/asyncpub"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/records"
)

// Client is the producer side: it enqueues jobs and reads their status and
// results. It is safe for concurrent use.
type Client struct {
	nc           *nats.Conn
	js           jetstream.JetStream
	log          *slog.Logger
	defaultQueue string
	layout       layout.Config
	pending      bool // write a pending status record at enqueue
	events       bool // publish an enqueued event per job
	hooks        []EnqueueHook
	records      records.Store // naq_results and naq_job_status

	mu            sync.Mutex
	cancelled     jetstream.KeyValue    // provisioned on first use
	schedules     jetstream.KeyValue    // provisioned on first use
	unique        jetstream.KeyValue    // provisioned on first use
	workers       jetstream.KeyValue    // provisioned on first use
	workflows     jetstream.KeyValue    // provisioned on first use
	dependents    jetstream.KeyValue    // provisioned on first use
	dependentsOff time.Time             // no index until then (see dependentsReady)
	failed        jetstream.Stream      // provisioned on first use
	writer        *asyncpub.Writer      // pipelined publishes, made on first use
	batcher       *asyncpub.BatchWriter // pipelined jobs, when naq_jobs takes batches
	batchJobs     bool                  // naq_jobs takes fast batches
	requester     *asyncpub.Requester   // acknowledged enqueues
}

type clientConfig struct {
	logger       *slog.Logger
	defaultQueue string
	layout       layout.Config
	pending      bool
	events       bool
	hooks        []EnqueueHook
}

// ClientOption configures NewClient.
type ClientOption func(*clientConfig) error

// WithLogger logs through l (default: slog.Default()).
func WithLogger(l *slog.Logger) ClientOption {
	return func(c *clientConfig) error { c.logger = l; return nil }
}

// WithDefaultQueue sets the queue of jobs enqueued without the Queue option
// (default: NAQ_DEFAULT_QUEUE, else naq_default_queue).
func WithDefaultQueue(q string) ClientOption {
	return func(c *clientConfig) error {
		if err := layout.ValidateQueue(q); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidQueue, err)
		}
		c.defaultQueue = q
		return nil
	}
}

// WithPendingRecords makes every enqueue also write the job's status record
// (state pending), so Status knows a job before a worker picks it up. It costs
// a second write per job, made in parallel with the job's own: without it,
// Status returns ErrJobNotFound until a worker has taken the job.
func WithPendingRecords() ClientOption {
	return func(c *clientConfig) error { c.pending = true; return nil }
}

// WithReplicas sets the replica count of the streams and buckets naq creates
// (3 on a three-node cluster).
func WithReplicas(n int) ClientOption {
	return func(c *clientConfig) error { c.layout.Replicas = n; return nil }
}

// NewClient provisions naq's streams and buckets on nc (idempotently, updating
// an older config) and returns a client. The caller owns nc.
func NewClient(ctx context.Context, nc *nats.Conn, opts ...ClientOption) (*Client, error) {
	cfg := clientConfig{logger: slog.Default(), defaultQueue: DefaultQueueFromEnv()}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := layout.ValidateQueue(cfg.defaultQueue); err != nil {
		return nil, fmt.Errorf("%w: default queue: %v", ErrInvalidQueue, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("naq: jetstream: %w", err)
	}
	cfg.layout.Logger = cfg.logger
	c := &Client{nc: nc, js: js, log: cfg.logger, defaultQueue: cfg.defaultQueue, layout: cfg.layout, pending: cfg.pending, events: cfg.events,
		hooks: cfg.hooks}
	jobs, err := layout.EnsureJobsStream(ctx, js, cfg.layout)
	if err != nil {
		return nil, err
	}
	c.batchJobs = jobs.CachedInfo().Config.AllowBatchPublish // off on a server before 2.14
	if c.requester, err = asyncpub.NewRequester(nc); err != nil {
		return nil, fmt.Errorf("naq: %w", err)
	}
	if c.records.Results, err = layout.EnsureBucket(ctx, js, cfg.layout, layout.ResultsBucket); err != nil {
		return nil, err
	}
	if c.records.Status, err = layout.EnsureBucket(ctx, js, cfg.layout, layout.StatusBucket); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultQueueFromEnv returns NAQ_DEFAULT_QUEUE, or DefaultQueue.
func DefaultQueueFromEnv() string {
	if q := envOr("NAQ_DEFAULT_QUEUE", ""); q != "" {
		return q
	}
	return DefaultQueue
}

// Close releases the client's subscriptions; the connection stays open (the
// caller owns it). Pipelined publishes still in flight fail.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requester.Close()
	if c.batcher != nil {
		c.batcher.Close()
		c.batcher = nil
	}
	if c.writer != nil {
		c.writer.Close()
		c.writer = nil
	}
}

// Conn returns the client's NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// JetStream returns the client's JetStream handle.
func (c *Client) JetStream() jetstream.JetStream { return c.js }

// Enqueue publishes a job named name and returns it; its ID is the handle for
// Status, Result and Wait. args may be nil, Args (positional), Kwargs
// (keyword), or any value: one that marshals to a JSON object becomes the
// keyword arguments, any other the single positional argument. The call
// returns once the server has stored the job.
func (c *Client) Enqueue(ctx context.Context, name string, args any, opts ...EnqueueOption) (*Job, error) {
	j, err := NewJob(name, args, opts...)
	if err != nil {
		return nil, err
	}
	return j, c.EnqueueJob(ctx, j)
}

// EnqueueJob publishes a job built with NewJob. Publishing the same job id
// again within two minutes is a no-op, so a retried call never makes a second
// job: the call succeeds and sets j.Duplicate. So does a unique job whose key
// another job holds (see Unique), which also sets j.ID to that job's id.
func (c *Client) EnqueueJob(ctx context.Context, j *Job) error {
	if j.uniqueAsked() != nil {
		return c.enqueueUnique(ctx, j, c.enqueueJob)
	}
	return c.enqueueJob(ctx, j)
}

func (c *Client) enqueueJob(ctx context.Context, j *Job) error {
	msg, err := c.jobMsg(j)
	if err != nil {
		return err
	}
	done := c.beforeEnqueue(ctx, []*Job{j}, []*nats.Msg{msg})
	if c.events {
		c.enqueued(j)
	}
	c.indexDependents(ctx, []*Job{j})
	var record <-chan struct{}
	if c.pending {
		if record, err = c.writePending(ctx, j); err != nil {
			if done != nil {
				done(err)
			}
			return err
		}
	}
	dup, err := c.requester.PublishDup(ctx, msg)
	if record != nil {
		select { // the record only says what the job says: its outcome does not matter
		case <-record:
		case <-ctx.Done():
		case <-time.After(publishTimeout):
		}
	}
	if err != nil {
		err = fmt.Errorf("naq: enqueue job %s on %s: %w", j.ID, j.Queue, err)
	}
	if done != nil {
		done(err)
	}
	if err != nil {
		return err
	}
	j.Duplicate = dup
	return nil
}

// lazyBucket provisions a bucket the first time the client needs it.
func (c *Client) lazyBucket(ctx context.Context, kv *jetstream.KeyValue, name string) (jetstream.KeyValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *kv == nil {
		b, err := layout.EnsureBucket(ctx, c.js, c.layout, name)
		if err != nil {
			return nil, err
		}
		*kv = b
	}
	return *kv, nil
}

// writePending sends j's pending status record, in parallel with the job;
// the channel closes once the server has answered.
func (c *Client) writePending(ctx context.Context, j *Job) (<-chan struct{}, error) {
	plain, _, err := c.publishers()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	plain.Write(ctx, pendingMsg(j), func(error) { close(done) })
	return done, nil
}

// pendingMsg is the status record of a job just enqueued.
func pendingMsg(j *Job) *nats.Msg {
	return records.PendingMsg(&records.Status{
		JobID: j.ID, State: StatePending, Name: j.Name, Queue: j.Queue, MaxRetries: j.MaxRetries,
		EnqueuedAt: j.EnqueuedAt, UpdatedAt: time.Now().UTC(),
	})
}

// jobMsg validates j, fills the client's defaults and encodes it as a message.
func (c *Client) jobMsg(j *Job) (*nats.Msg, error) {
	if err := c.checkJob(j); err != nil {
		return nil, err
	}
	data, err := j.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgs, err)
	}
	if err := c.checkSize(j, data); err != nil {
		return nil, err
	}
	return newJobMsg(layout.QueueSubject(j.Queue), j, data), nil
}

// checkJob validates j and fills the client's defaults, all but encoding it.
func (c *Client) checkJob(j *Job) error {
	if j.Queue == "" {
		j.Queue = c.defaultQueue
	}
	if err := layout.ValidateQueue(j.Queue); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	if err := layout.ValidateJobID(j.ID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	if j.Name == "" {
		return fmt.Errorf("%w: job %s has no name", ErrInvalidJob, j.ID)
	}
	if !utf8.ValidString(j.Name) {
		return fmt.Errorf("%w: job %s: name %q is not valid UTF-8", ErrInvalidJob, j.ID, j.Name)
	}
	if err := j.checkFields(); err != nil {
		return err
	}
	if j.EnqueuedAt.IsZero() {
		j.EnqueuedAt = time.Now().UTC()
	}
	return nil
}

// checkSize refuses an encoding the server would refuse. Headers count toward
// max_payload. 192 bytes covers the framing, the id header,
// Nats-Expected-Stream and the atomic batch headers (about 125 bytes besides
// the id), so a job that passes here is never refused by nats.go for its size
// later.
func (c *Client) checkSize(j *Job, data []byte) error {
	if max := c.nc.MaxPayload(); int64(len(data)+len(j.ID)+192) > max {
		return fmt.Errorf("%w: job %s is %d bytes, the server accepts at most %d (max_payload); store large data elsewhere and pass a reference",
			ErrPayloadTooLarge, j.ID, len(data), max)
	}
	return nil
}

// newJobMsg is j's message: its encoding, on its queue's subject, under its id.
func newJobMsg(subject string, j *Job, data []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{j.ID}}}
}

// Purge removes every pending job of queue and returns how many it removed.
// Running jobs, results and status records are untouched.
func (c *Client) Purge(ctx context.Context, queue string) (uint64, error) {
	if err := layout.ValidateQueue(queue); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	return layout.PurgeSubject(ctx, c.nc, layout.JobsStream, layout.QueueSubject(queue))
}
