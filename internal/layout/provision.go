package layout

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Config tunes provisioning. The zero value gives naq's defaults: a new
// stream or bucket gets three replicas on a cluster of three or more servers,
// as many as there are on a smaller one, and one on a single server.
type Config struct {
	// Replicas of every stream and bucket naq creates; 0 chooses as above.
	// An existing stream keeps its replica count: changing it is an explicit
	// operation (SetReplicas), never a side effect of starting a process.
	Replicas int
	// ResultTTL is the results bucket's max age when naq creates it.
	ResultTTL time.Duration
	// StatusTTL is how long job status records are kept when naq creates the
	// status bucket.
	StatusTTL time.Duration
	// Logger receives the warnings about features an existing layout cannot
	// give (nil: slog.Default()).
	Logger *slog.Logger
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// JobsStreamConfig is naq_jobs: one subject per queue, work-queue retention,
// file storage, atomic batch publish for all-or-nothing bulk enqueue, fast
// batch publish for pipelined bulk enqueue, and message schedules: a delayed
// job waits on naq.delayed.<id> (which no consumer reads) until the server
// publishes it to its queue.
func JobsStreamConfig(c Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               JobsStream,
		Description:        "naq jobs, one subject per queue",
		Subjects:           []string{JobsSubjectPrefix + "*", DelayedPrefix + "*"},
		Retention:          jetstream.WorkQueuePolicy,
		Storage:            jetstream.FileStorage,
		Replicas:           c.Replicas,
		Duplicates:         DuplicateWindow,
		AllowAtomicPublish: true,
		AllowBatchPublish:  true,
		AllowMsgSchedules:  true,
	}
}

// EnsureJobsStream creates naq_jobs or adds what naq needs to an existing one
// (see ensureStream). Fast batches are asked for only of a server that has
// them (2.14 and later): an older one would drop the option and the stream
// would look out of date at every start.
func EnsureJobsStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	cfg := JobsStreamConfig(c)
	cfg.AllowBatchPublish = serverHasFastBatches(js)
	return ensureStream(ctx, js, c, cfg)
}

// EnsureFailedStream creates naq_failed_jobs or adds what naq needs to an
// existing one. It keeps Python naq's work-queue retention; listing reads
// messages by sequence, so nothing ever consumes a failed job by looking at it.
func EnsureFailedStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	return ensureStream(ctx, js, c, jetstream.StreamConfig{
		Name:        FailedStream,
		Description: "naq jobs that failed for good, and messages that were not valid jobs",
		Subjects:    []string{FailedSubjectPrefix + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		Duplicates:  DuplicateWindow,
	})
}

// EnsureBucket creates one of naq's KV buckets (ResultsBucket, StatusBucket,
// WorkersBucket, CancelledBucket, SchedulesBucket, WorkflowsBucket or
// DependentsBucket), or adds what naq needs to an existing one. The
// scheduler's lock has its own (see EnsureSchedulerLockBucket).
func EnsureBucket(ctx context.Context, js jetstream.JetStream, c Config, name string) (jetstream.KeyValue, error) {
	spec, ok := bucketSpecFor(c, name)
	if !ok {
		return nil, fmt.Errorf("naq: %q is not one of naq's buckets", name)
	}
	return ensureBucket(ctx, js, c, spec)
}

// bucketSpecFor is what naq asks of bucket name.
func bucketSpecFor(c Config, name string) (bucketSpec, bool) {
	cfg := jetstream.KeyValueConfig{Bucket: name, Storage: jetstream.FileStorage, Replicas: c.Replicas}
	switch name {
	case ResultsBucket:
		// Per-job result TTLs are per-message TTLs, so the bucket allows
		// them; where the server refuses to turn them on, results keep the
		// bucket's max age (see MsgTTLAllowed).
		cfg.Description = "naq job results, key = job id"
		cfg.TTL = orDefault(c.ResultTTL, DefaultResultTTL)
		cfg.LimitMarkerTTL = time.Minute
		return bucketSpec{cfg: cfg, msgTTL: "per-job result TTLs"}, true
	case StatusBucket:
		cfg.Description = "naq job status records, key = job id"
		cfg.TTL = orDefault(c.StatusTTL, DefaultStatusTTL)
	case WorkersBucket:
		// Each heartbeat carries its own TTL, so a dead worker's record
		// expires however the worker's heartbeat interval was configured; a
		// bucket made by Python naq keeps its max age (60 s), which bounds
		// them too.
		cfg.Description = "naq worker heartbeats, key = worker id"
		cfg.LimitMarkerTTL = time.Minute
		return bucketSpec{cfg: cfg, msgTTL: "heartbeat expiry"}, true
	case CancelledBucket:
		// The ids of cancelled jobs, which every worker watches so it drops
		// them and stops them if running.
		cfg.Description = "ids of cancelled naq jobs"
		cfg.TTL = orDefault(c.StatusTTL, DefaultStatusTTL)
	case SchedulesBucket:
		// The registry of recurring jobs (JSON records, string states).
		// Python naq keeps its own, pickled, records in the same bucket; naq
		// skips those.
		cfg.Description = "naq recurring jobs, key = schedule id"
	case WorkflowsBucket:
		// Kept as long as results, so a workflow can be read while its
		// steps' results can.
		cfg.Description = "naq workflows, key = workflow id"
		cfg.TTL = orDefault(c.ResultTTL, DefaultResultTTL)
		return bucketSpec{cfg: cfg, owned: true}, true
	case DependentsBucket:
		// Kept as long as results: a job's dependents can be listed while
		// its result can be read.
		cfg.Description = "naq dependents index, key = dependency id.dependent id"
		cfg.TTL = orDefault(c.ResultTTL, DefaultResultTTL)
		return bucketSpec{cfg: cfg, owned: true}, true
	default:
		return bucketSpec{}, false
	}
	return bucketSpec{cfg: cfg}, true
}

// EnsureSchedulerLockBucket creates naq_go_scheduler_lock, the naq-go
// schedulers' leader lease. Its max age is the lease: every renewal rewrites
// the key and so restarts it; an expired lease leaves a marker that watchers
// see at once. The bucket is naq-go's alone (Python naq's schedulers elect
// their leader in naq_scheduler_lock, which naq-go never touches), so its max
// age follows the configured lease.
func EnsureSchedulerLockBucket(ctx context.Context, js jetstream.JetStream, c Config, ttl time.Duration) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, c, bucketSpec{
		cfg: jetstream.KeyValueConfig{
			Bucket:         SchedulerLockBucket,
			Description:    "naq-go scheduler leader lease",
			History:        1,
			TTL:            ttl,
			LimitMarkerTTL: time.Second,
			Storage:        jetstream.FileStorage,
			Replicas:       c.Replicas,
		},
		owned: true,
	})
}

// ConsumerConfig is what a worker asks of its queue's shared durable consumer.
type ConsumerConfig struct {
	AckWait       time.Duration
	MaxAckPending int
	MaxDeliver    int
	// MaxRunning, when above 0, caps the queue's running jobs across all
	// workers: the consumer's max ack pending, marked in its metadata so that
	// workers started without a cap keep it. Below 0 it lifts the cap.
	MaxRunning int
}

// MaxRunningMeta is the consumer metadata key of a queue's cap on running
// jobs.
const MaxRunningMeta = "naq_max_running"

// EnsureUniqueBucket creates naq_unique, the locks of unique jobs. Every lock
// carries its own TTL (so a lock whose job was lost still expires), and a
// released lock leaves a marker that expires in a minute.
func EnsureUniqueBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, c, bucketSpec{
		cfg: jetstream.KeyValueConfig{
			Bucket:         UniqueBucket,
			Description:    "naq unique-job locks, key = hash of the unique key, value = job id",
			History:        1,
			LimitMarkerTTL: time.Minute,
			Storage:        jetstream.FileStorage,
			Replicas:       c.Replicas,
		},
		msgTTL: "lock expiry",
	})
}

// EnsureRateLimitStream creates naq_rate_limits, the start counters of rate
// limits: a counter stream (server 2.12 or later), one subject per limit and
// window, naq.rate.<limit>.<window>, whose increments the server adds up
// atomically. A window's counter is kept a day, the longest period a limit
// may have, and only its last total is stored.
func EnsureRateLimitStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	return ensureStream(ctx, js, c, jetstream.StreamConfig{
		Name:              RateLimitStream,
		Description:       "naq rate-limit start counters, one subject per limit and window",
		Subjects:          []string{RateLimitSubjectPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Replicas:          c.Replicas,
		MaxAge:            MaxRatePeriod + time.Hour,
		MaxMsgsPerSubject: 1,
		AllowMsgCounter:   true,
	})
}
