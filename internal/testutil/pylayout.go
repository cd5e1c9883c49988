package testutil

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PyLayout describes the NATS layout Python naq (legout/naq, JSON serializer)
// makes on a server before any naq-go process runs, as `nats stream info`
// shows it.
type PyLayout struct {
	// MsgTTL: nats-py 2.13 and later create every bucket with per-message
	// TTLs allowed; nats-py 2.11 without.
	MsgTTL bool
	// Queues get the consumer a Python worker makes, naq-worker-<queue>.
	Queues []string
	// Concurrency of the Python worker: its consumer's max ack pending is
	// twice this.
	Concurrency int
}

// pyBucket is one bucket as nats-py's create_key_value makes it.
func (l PyLayout) pyBucket(name, description string, maxAge time.Duration) jetstream.StreamConfig {
	dup := 2 * time.Minute
	if maxAge > 0 && maxAge < dup {
		dup = maxAge
	}
	return jetstream.StreamConfig{
		Name:              "KV_" + name,
		Description:       description,
		Subjects:          []string{"$KV." + name + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            maxAge,
		MaxMsgsPerSubject: 1,
		MaxMsgSize:        -1,
		Discard:           jetstream.DiscardNew,
		Storage:           jetstream.FileStorage,
		Replicas:          1,
		Duplicates:        dup,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       false,
		AllowMsgTTL:       l.MsgTTL,
	}
}

// Streams are the streams of the layout, the buckets' among them.
func (l PyLayout) Streams() []jetstream.StreamConfig {
	work := func(name, subject string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name: name, Subjects: []string{subject}, Retention: jetstream.WorkQueuePolicy,
			MaxConsumers: -1, MaxMsgs: -1, MaxBytes: -1, MaxMsgsPerSubject: -1, MaxMsgSize: -1,
			Discard: jetstream.DiscardOld, Storage: jetstream.FileStorage, Replicas: 1, Duplicates: 2 * time.Minute,
		}
	}
	return []jetstream.StreamConfig{
		work("naq_jobs", "naq.queue.*"),
		work("naq_failed_jobs", "naq.failed.*"),
		l.pyBucket("naq_results", "Stores naq job results and errors", 7*24*time.Hour),
		l.pyBucket("naq_job_status", "Stores naq job completion status for dependencies", 24*time.Hour),
		l.pyBucket("naq_workers", "Stores naq worker status and heartbeats", time.Minute),
		l.pyBucket("naq_scheduled_jobs", "Stores naq scheduled job details", 0),
		l.pyBucket("naq_scheduler_lock", "Scheduler leader election lock", 0),
	}
}

// Consumer is the consumer a Python worker makes for queue q.
func (l PyLayout) Consumer(q string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: "naq-worker-" + q, FilterSubject: "naq.queue." + q, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: 60 * time.Second, MaxDeliver: -1,
		MaxAckPending: 2 * max(l.Concurrency, 1),
	}
}

// Create makes the layout on the server js talks to.
func (l PyLayout) Create(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range l.Streams() {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			return fmt.Errorf("create %s: %w", cfg.Name, err)
		}
	}
	for _, q := range l.Queues {
		if _, err := js.CreateConsumer(ctx, "naq_jobs", l.Consumer(q)); err != nil {
			return fmt.Errorf("create consumer of %s: %w", q, err)
		}
	}
	return nil
}

// PySnapshot is what the server holds of a Python layout's config at one
// moment.
type PySnapshot struct {
	streams   map[string]jetstream.StreamConfig
	lastSeq   map[string]uint64
	consumers map[string]jetstream.ConsumerConfig
}

// Snapshot reads the layout's current config.
func (l PyLayout) Snapshot(ctx context.Context, js jetstream.JetStream) (PySnapshot, error) {
	snap := PySnapshot{streams: map[string]jetstream.StreamConfig{}, lastSeq: map[string]uint64{}, consumers: map[string]jetstream.ConsumerConfig{}}
	for _, cfg := range l.Streams() {
		s, err := js.Stream(ctx, cfg.Name)
		if err != nil {
			return snap, fmt.Errorf("read %s: %w", cfg.Name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return snap, fmt.Errorf("read %s: %w", cfg.Name, err)
		}
		snap.streams[cfg.Name], snap.lastSeq[cfg.Name] = info.Config, info.State.LastSeq
	}
	for _, q := range l.Queues {
		c, err := js.Consumer(ctx, "naq_jobs", "naq-worker-"+q)
		if err != nil {
			return snap, fmt.Errorf("read consumer of %s: %w", q, err)
		}
		snap.consumers[q] = c.CachedInfo().Config
	}
	return snap, nil
}

// CheckKept fails t for every setting of before that now differs: naq-go
// may add subjects and turn allow-flags on, and raise a consumer's max ack
// pending, nothing else. Python's scheduler lock bucket must be untouched,
// its messages too.
func (l PyLayout) CheckKept(t testing.TB, ctx context.Context, js jetstream.JetStream, before PySnapshot) {
	t.Helper()
	now, err := l.Snapshot(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for name, was := range before.streams {
		is := now.streams[name]
		if !isSubset(was.Subjects, is.Subjects) {
			t.Errorf("%s: subjects %v became %v", name, was.Subjects, is.Subjects)
		}
		for _, f := range []struct {
			flag     string
			was, now bool
		}{
			{"allow_msg_ttl", was.AllowMsgTTL, is.AllowMsgTTL}, {"allow_atomic", was.AllowAtomicPublish, is.AllowAtomicPublish},
			{"allow_batched", was.AllowBatchPublish, is.AllowBatchPublish}, {"allow_msg_schedules", was.AllowMsgSchedules, is.AllowMsgSchedules},
			{"allow_rollup_hdrs", was.AllowRollup, is.AllowRollup},
		} {
			if f.was && !f.now {
				t.Errorf("%s: %s was turned off", name, f.flag)
			}
		}
		masked := is
		masked.Metadata = was.Metadata // the server's own bookkeeping
		masked.Subjects, masked.AllowMsgTTL, masked.AllowAtomicPublish = was.Subjects, was.AllowMsgTTL, was.AllowAtomicPublish
		masked.AllowBatchPublish, masked.AllowMsgSchedules, masked.AllowRollup = was.AllowBatchPublish, was.AllowMsgSchedules, was.AllowRollup
		if name == "KV_naq_scheduler_lock" {
			masked = is
			masked.Metadata = was.Metadata
			if now.lastSeq[name] != before.lastSeq[name] {
				t.Errorf("%s: written to (last sequence %d, was %d)", name, now.lastSeq[name], before.lastSeq[name])
			}
		}
		if !reflect.DeepEqual(masked, was) {
			t.Errorf("%s: settings changed:\nwas %+v\nnow %+v", name, was, is)
		}
	}
	for q, was := range before.consumers {
		is := now.consumers[q]
		masked := is
		if is.MaxAckPending >= was.MaxAckPending {
			masked.MaxAckPending = was.MaxAckPending
		}
		if !reflect.DeepEqual(masked, was) {
			t.Errorf("consumer of %s: settings changed:\nwas %+v\nnow %+v", q, was, is)
		}
	}
}

func isSubset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
