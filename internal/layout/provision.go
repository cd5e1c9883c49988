package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config tunes provisioning. The zero value gives naq's defaults on a single
// server.
type Config struct {
	// Replicas of every stream and bucket (1 on a single server, 3 in a cluster).
	Replicas int
	// ResultTTL is the results bucket's max age, the default result TTL.
	ResultTTL time.Duration
	// StatusTTL is how long job status records are kept.
	StatusTTL time.Duration
}

func (c Config) replicas() int {
	if c.Replicas < 1 {
		return 1
	}
	return c.Replicas
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
		Replicas:           c.replicas(),
		Duplicates:         DuplicateWindow,
		AllowAtomicPublish: true,
		AllowBatchPublish:  true,
		AllowMsgSchedules:  true,
	}
}

// EnsureJobsStream creates naq_jobs or brings an existing one up to date.
// Fast batches are asked for only of a server that has them (2.14 and
// later): an older one would drop the option and the stream would look out of
// date at every start.
func EnsureJobsStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	cfg := JobsStreamConfig(c)
	cfg.AllowBatchPublish = serverHasFastBatches(js)
	return ensureStream(ctx, js, cfg)
}

// serverHasFastBatches reports whether the connected server is 2.14 or later.
func serverHasFastBatches(js jetstream.JetStream) bool {
	return versionAtLeast(js.Conn().ConnectedServerVersion(), 2, 14)
}

// versionAtLeast compares a server version such as "2.15.2" or
// "2.14.0-beta.1" with major.minor.
func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mnr >= minor
}

// EnsureFailedStream creates naq_failed_jobs or brings it up to date. It keeps
// Python naq's work-queue retention; listing reads messages by sequence, so
// nothing ever consumes a failed job by looking at it.
func EnsureFailedStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	return ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        FailedStream,
		Description: "naq jobs that failed for good, and messages that were not valid jobs",
		Subjects:    []string{FailedSubjectPrefix + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    c.replicas(),
		Duplicates:  DuplicateWindow,
	})
}

// ensureStream updates a stream only when its config differs: an update on
// every start is wasted work for the server, and nats-server 2.15.2 races an
// update against a concurrent consumer creation.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	if s, err := js.Stream(ctx, cfg.Name); err == nil && streamUpToDate(s.CachedInfo().Config, cfg) {
		return s, nil
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// EnsureResultsBucket creates naq_results or brings it up to date. Per-job
// result TTLs are per-message TTLs, so the bucket allows them.
func EnsureResultsBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:         ResultsBucket,
		Description:    "naq job results, key = job id",
		TTL:            orDefault(c.ResultTTL, DefaultResultTTL),
		LimitMarkerTTL: time.Minute,
		Storage:        jetstream.FileStorage,
		Replicas:       c.replicas(),
	})
}

// AllowBatches turns on fast batch publishing for stream (nats-server 2.14
// and later) and reports whether the stream now takes batches: a server that
// does not know the option leaves it off. A bucket's stream carries the option
// only after this call, since nats.go's bucket config has no such field.
func AllowBatches(ctx context.Context, js jetstream.JetStream, stream string) (bool, error) {
	if !serverHasFastBatches(js) {
		return false, nil
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("allow batches on %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	if cfg.AllowBatchPublish {
		return true, nil
	}
	cfg.AllowBatchPublish = true
	if s, err = js.UpdateStream(ctx, cfg); err != nil {
		return false, fmt.Errorf("allow batches on %s: %w", stream, err)
	}
	return s.CachedInfo().Config.AllowBatchPublish, nil
}

// EnsureStatusBucket creates naq_job_status or brings it up to date.
func EnsureStatusBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      StatusBucket,
		Description: "naq job status records, key = job id",
		TTL:         orDefault(c.StatusTTL, DefaultStatusTTL),
		Storage:     jetstream.FileStorage,
		Replicas:    c.replicas(),
	})
}

// EnsureWorkersBucket creates naq_workers or brings it up to date. Each
// heartbeat carries its own TTL, so a dead worker's record expires however the
// worker's heartbeat interval was configured.
func EnsureWorkersBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:         WorkersBucket,
		Description:    "naq worker heartbeats, key = worker id",
		LimitMarkerTTL: time.Minute,
		Storage:        jetstream.FileStorage,
		Replicas:       c.replicas(),
	})
}

// EnsureCancelledBucket creates naq_cancelled: the ids of cancelled jobs, which
// every worker watches so it drops them and stops them if running.
func EnsureCancelledBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      CancelledBucket,
		Description: "ids of cancelled naq jobs",
		TTL:         orDefault(c.StatusTTL, DefaultStatusTTL),
		Storage:     jetstream.FileStorage,
		Replicas:    c.replicas(),
	})
}

// EnsureSchedulesBucket creates naq_scheduled_jobs, the registry of recurring
// jobs (JSON records, string states).
func EnsureSchedulesBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      SchedulesBucket,
		Description: "naq recurring jobs, key = schedule id",
		Storage:     jetstream.FileStorage,
		Replicas:    c.replicas(),
	})
}

// EnsureSchedulerLockBucket creates naq_scheduler_lock. Its max age is the
// lease: every renewal rewrites the key and so restarts it; an expired lease
// leaves a marker that watchers see at once.
func EnsureSchedulerLockBucket(ctx context.Context, js jetstream.JetStream, c Config, ttl time.Duration) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:         SchedulerLockBucket,
		Description:    "naq scheduler leader lease",
		History:        1,
		TTL:            ttl,
		LimitMarkerTTL: time.Second,
		Storage:        jetstream.FileStorage,
		Replicas:       c.replicas(),
	})
}

// ensureBucket updates a bucket only when its config differs (see
// ensureStream).
func ensureBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if kv, err := js.KeyValue(ctx, cfg.Bucket); err == nil {
		if st, err := kv.Status(ctx); err == nil && bucketUpToDate(st.Config(), cfg) {
			return kv, nil
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// ConsumerConfig is what a worker asks of its queue's shared durable consumer.
type ConsumerConfig struct {
	AckWait       time.Duration
	MaxAckPending int
	MaxDeliver    int
}

// EnsureConsumer creates queue q's durable consumer naq-worker-<q> or brings it
// up to date. Every worker of the queue shares it; the last one to start sets
// its config.
func EnsureConsumer(ctx context.Context, s jetstream.Stream, q string, c ConsumerConfig) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       ConsumerName(q),
		Description:   "naq workers of queue " + q,
		FilterSubject: QueueSubject(q),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       orDefault(c.AckWait, DefaultAckWait),
		MaxAckPending: c.MaxAckPending,
		MaxDeliver:    c.MaxDeliver,
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = -1
	}
	// An operator's pause (naq queue pause) outlives workers restarting: the
	// server keeps an existing consumer's pause across this update.
	cons, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision consumer %s: %w", cfg.Durable, err)
	}
	return cons, nil
}

// PurgeSubject removes every message on subject from stream and returns how
// many it removed. The jetstream package's Purge does not report the count.
func PurgeSubject(ctx context.Context, nc *nats.Conn, stream, subject string) (uint64, error) {
	req, _ := json.Marshal(map[string]string{"filter": subject})
	msg, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+stream, req)
	if err != nil {
		return 0, fmt.Errorf("purge %s on %s: %w", subject, stream, err)
	}
	var resp struct {
		Success bool   `json:"success"`
		Purged  uint64 `json:"purged"`
		Error   *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("purge %s on %s: bad reply: %w", subject, stream, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrCode == 10059 { // stream not found: nothing to purge
			return 0, nil
		}
		return 0, fmt.Errorf("purge %s on %s: %s (code %d)", subject, stream, resp.Error.Description, resp.Error.ErrCode)
	}
	return resp.Purged, nil
}

// IsNotFound reports whether err means a key, message, stream or consumer does
// not exist.
func IsNotFound(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageNotFound {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrMsgNotFound) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound)
}

// streamUpToDate reports whether have already carries everything naq sets in
// want.
func streamUpToDate(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Retention == want.Retention &&
		have.Storage == want.Storage && have.Replicas == max(want.Replicas, 1) && have.Duplicates == want.Duplicates &&
		have.AllowAtomicPublish == want.AllowAtomicPublish && have.AllowBatchPublish == want.AllowBatchPublish &&
		have.AllowMsgSchedules == want.AllowMsgSchedules &&
		have.Description == want.Description
}

// bucketUpToDate reports whether have already carries everything naq sets in
// want.
func bucketUpToDate(have, want jetstream.KeyValueConfig) bool {
	return have.TTL == want.TTL && have.History == max(want.History, 1) && have.LimitMarkerTTL == want.LimitMarkerTTL &&
		have.Replicas == max(want.Replicas, 1) && have.Storage == want.Storage && have.Description == want.Description
}
