package layout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Provisioning shares the server with other naq processes, Python naq's
// among them, whose settings it must never undo: a stream or bucket that
// exists keeps every setting it has (max age, description, replicas, history,
// retention, discard policy, duplicate window), and naq only adds what it
// needs — subjects and allow-flags. A flag that is on is never turned off. An
// addition the server refuses costs only the feature that needed it, with one
// warning; the process carries on.

// ensureStream creates want.Name, or merges naq's needs into the existing
// stream, updating it only when something is missing: an update on every
// start is wasted work for the server, and nats-server 2.15.2 races an update
// against a concurrent consumer creation.
func ensureStream(ctx context.Context, js jetstream.JetStream, c Config, want jetstream.StreamConfig) (jetstream.Stream, error) {
	for {
		s, err := js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = createStream(ctx, js, c, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue // made by another process meanwhile: merge into it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("provision stream %s: %w", want.Name, err)
		}
		return mergeInto(ctx, js, c, s, want)
	}
}

// createStream creates cfg with the configured replicas, or those
// withReplicas chooses.
func createStream(ctx context.Context, js jetstream.JetStream, c Config, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return withReplicas(ctx, js, c, func(n int) (jetstream.Stream, error) {
		cfg.Replicas = n
		return js.CreateStream(ctx, cfg)
	})
}

// withReplicas runs create with the replica count of what naq creates: the
// configured one; else 1 on a single server, and 3 on a cluster. A cluster
// still forming refuses three for a moment, so three is asked again for a
// few seconds; only then, and only if the connection knows of fewer than
// three servers (a two-server cluster), does it create with as many as
// there are, and says so.
func withReplicas[T any](ctx context.Context, js jetstream.JetStream, c Config, create func(n int) (T, error)) (T, error) {
	nc := js.Conn()
	switch {
	case c.Replicas > 0:
		return create(c.Replicas)
	case nc.ConnectedClusterName() == "":
		return create(1)
	}
	deadline := time.Now().Add(placementPatience)
	for {
		v, err := create(3)
		if err == nil || !isPlacementError(err) || ctx.Err() != nil {
			return v, err
		}
		if time.Now().After(deadline) {
			if known := len(nc.Servers()); known < 3 {
				c.logger().Warn("the cluster has fewer than three servers: creating with fewer replicas", "replicas", known)
				return create(max(known, 1))
			}
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// placementPatience is how long a new stream waits for a forming cluster to
// place three replicas.
const placementPatience = 5 * time.Second

// isPlacementError reports whether err says the cluster cannot place as many
// replicas as asked.
func isPlacementError(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case 10005, 10023, 10074: // no suitable peers, insufficient resources, not clustered
		return true
	}
	return false
}

// mergeInto adds what want needs to s's config. What the server refuses is
// left out with a warning, flag by flag.
func mergeInto(ctx context.Context, js jetstream.JetStream, c Config, s jetstream.Stream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	have := s.CachedInfo().Config
	merged := mergeStream(have, want)
	if reflect.DeepEqual(merged, have) {
		return s, nil
	}
	if u, err := js.UpdateStream(ctx, merged); err == nil {
		return u, nil
	} else if ctx.Err() != nil {
		return nil, fmt.Errorf("provision stream %s: %w", want.Name, err)
	}
	// Add one need at a time, so one refusal costs one feature.
	for _, step := range mergeSteps(have, merged) {
		next := step.apply(have)
		u, err := js.UpdateStream(ctx, next)
		if err != nil {
			c.logger().Warn("the server refused a setting naq needs on an existing stream; going on without it",
				"stream", want.Name, "setting", step.name, "costs", step.costs, "err", err)
			continue
		}
		s, have = u, u.CachedInfo().Config
	}
	return s, nil
}

// mergeStream returns have with naq's subjects and allow-flags from want
// added, and nothing of have's removed, lowered or rewritten (not even an
// empty description).
func mergeStream(have, want jetstream.StreamConfig) jetstream.StreamConfig {
	m := have
	for _, subj := range want.Subjects {
		if !slices.Contains(m.Subjects, subj) {
			m.Subjects = append(slices.Clip(m.Subjects), subj)
		}
	}
	m.AllowMsgTTL = have.AllowMsgTTL || want.AllowMsgTTL
	m.AllowAtomicPublish = have.AllowAtomicPublish || want.AllowAtomicPublish
	m.AllowBatchPublish = have.AllowBatchPublish || want.AllowBatchPublish
	m.AllowMsgSchedules = have.AllowMsgSchedules || want.AllowMsgSchedules
	m.AllowRollup = have.AllowRollup || want.AllowRollup
	// Job ids stay deduplicated for the window naq promises; a longer one
	// stays, and none outlasts the stream's max age.
	if d := want.Duplicates; d > have.Duplicates {
		if have.MaxAge > 0 {
			d = min(d, have.MaxAge)
		}
		m.Duplicates = max(d, have.Duplicates)
	}
	return m
}

// mergeStep is one addition of mergeStream, tried alone when the whole
// update was refused.
type mergeStep struct {
	name, costs string
	apply       func(jetstream.StreamConfig) jetstream.StreamConfig
}

func mergeSteps(have, merged jetstream.StreamConfig) []mergeStep {
	var steps []mergeStep
	add := func(changed bool, name, costs string, apply func(*jetstream.StreamConfig)) {
		if changed {
			steps = append(steps, mergeStep{name: name, costs: costs, apply: func(c jetstream.StreamConfig) jetstream.StreamConfig {
				apply(&c)
				return c
			}})
		}
	}
	add(!slices.Equal(have.Subjects, merged.Subjects), "subjects "+strings.Join(merged.Subjects, ","),
		"delayed jobs (naq.delayed.*)", func(c *jetstream.StreamConfig) { c.Subjects = merged.Subjects })
	add(have.AllowMsgTTL != merged.AllowMsgTTL, "allow_msg_ttl", "per-message TTLs (result TTLs, heartbeat expiry)",
		func(c *jetstream.StreamConfig) { c.AllowMsgTTL = true })
	add(have.AllowMsgSchedules != merged.AllowMsgSchedules, "allow_msg_schedules", "delayed jobs",
		func(c *jetstream.StreamConfig) { c.AllowMsgSchedules = true })
	add(have.AllowAtomicPublish != merged.AllowAtomicPublish, "allow_atomic", "all-or-nothing bulk enqueue",
		func(c *jetstream.StreamConfig) { c.AllowAtomicPublish = true })
	add(have.AllowBatchPublish != merged.AllowBatchPublish, "allow_batched", "fast pipelined bulk enqueue",
		func(c *jetstream.StreamConfig) { c.AllowBatchPublish = true })
	add(have.Duplicates != merged.Duplicates, "duplicate_window "+merged.Duplicates.String(), "job id deduplication for that long",
		func(c *jetstream.StreamConfig) { c.Duplicates = merged.Duplicates })
	add(have.AllowRollup != merged.AllowRollup, "allow_rollup_hdrs", "bucket purges",
		func(c *jetstream.StreamConfig) { c.AllowRollup = true })
	return steps
}

// bucketSpec is a bucket naq provisions: its config when naq creates it, and
// what naq needs of one that exists.
type bucketSpec struct {
	cfg jetstream.KeyValueConfig
	// msgTTL names what per-message TTLs give naq in this bucket ("" when
	// naq writes none).
	msgTTL string
	// owned marks a bucket only naq-go uses: its config follows naq's.
	owned bool
}

// ensureBucket creates spec's bucket, or adds naq's needs to an existing one
// (see ensureStream).
func ensureBucket(ctx context.Context, js jetstream.JetStream, c Config, spec bucketSpec) (jetstream.KeyValue, error) {
	name := spec.cfg.Bucket
	s, err := js.Stream(ctx, "KV_"+name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		kv, cerr := createBucket(ctx, js, c, spec.cfg)
		if !errors.Is(cerr, jetstream.ErrBucketExists) && !errors.Is(cerr, jetstream.ErrStreamNameAlreadyInUse) {
			if cerr != nil {
				return nil, fmt.Errorf("provision bucket %s: %w", name, cerr)
			}
			return kv, nil
		}
		s, err = js.Stream(ctx, "KV_"+name) // made by another process meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", name, err)
	}
	if spec.owned {
		if err := updateOwnedBucket(ctx, js, s, spec.cfg); err != nil {
			return nil, err
		}
	} else {
		want := jetstream.StreamConfig{Name: "KV_" + name, AllowMsgTTL: spec.msgTTL != ""}
		if _, err := mergeInto(ctx, js, c, s, want); err != nil {
			return nil, err
		}
	}
	kv, err := js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", name, err)
	}
	return kv, nil
}

func createBucket(ctx context.Context, js jetstream.JetStream, c Config, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return withReplicas(ctx, js, c, func(n int) (jetstream.KeyValue, error) {
		cfg.Replicas = n
		return js.CreateKeyValue(ctx, cfg)
	})
}

// updateOwnedBucket brings a bucket only naq-go uses to cfg, keeping its
// replica count.
func updateOwnedBucket(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, cfg jetstream.KeyValueConfig) error {
	have := s.CachedInfo().Config
	if have.MaxAge == cfg.TTL && have.Description == cfg.Description && have.MaxMsgsPerSubject == int64(max(cfg.History, 1)) {
		return nil
	}
	cfg.Replicas = have.Replicas
	if _, err := js.UpdateKeyValue(ctx, cfg); err != nil {
		return fmt.Errorf("provision bucket %s: %w", cfg.Bucket, err)
	}
	return nil
}

// MsgTTLAllowed reports whether stream takes per-message TTLs (the Nats-TTL
// header): a bucket made by another naq on a server that refused to turn them
// on does not, and a write with the header would be refused.
func MsgTTLAllowed(ctx context.Context, js jetstream.JetStream, stream string) (bool, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return s.CachedInfo().Config.AllowMsgTTL, nil
}

// EnsureConsumer creates queue q's durable consumer naq-worker-<q>, which
// every worker of the queue shares, or adds what naq needs to an existing one.
// One naq-go made follows the config of the last naq-go worker to start; one
// another naq made (Python's: ack wait 60 s, max ack pending twice its
// concurrency) keeps its settings, and only its max ack pending is raised to
// what this worker asks, so a small Python limit does not starve it.
func EnsureConsumer(ctx context.Context, s jetstream.Stream, q string, c ConsumerConfig) (jetstream.Consumer, error) {
	want := jetstream.ConsumerConfig{
		Durable:       ConsumerName(q),
		Description:   "naq workers of queue " + q,
		FilterSubject: QueueSubject(q),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       orDefault(c.AckWait, DefaultAckWait),
		MaxAckPending: c.MaxAckPending,
		MaxDeliver:    c.MaxDeliver,
	}
	if want.MaxDeliver == 0 {
		want.MaxDeliver = -1
	}
	if c.MaxRunning > 0 {
		want.MaxAckPending = c.MaxRunning
		want.Metadata = map[string]string{MaxRunningMeta: strconv.Itoa(c.MaxRunning)}
	}
	for {
		cons, err := s.Consumer(ctx, want.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = s.CreateConsumer(ctx, want)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("provision consumer %s: %w", want.Durable, err)
			}
			return cons, nil
		}
		if err != nil {
			return nil, fmt.Errorf("provision consumer %s: %w", want.Durable, err)
		}
		have := cons.CachedInfo().Config
		merged := mergeConsumer(have, want)
		merged = mergeMaxRunning(have, merged, c)
		if reflect.DeepEqual(merged, have) {
			return cons, nil
		}
		// An operator's pause (naq queue pause) outlives workers restarting:
		// the merged config carries it.
		if cons, err = s.UpdateConsumer(ctx, merged); err != nil {
			return nil, fmt.Errorf("provision consumer %s: %w", want.Durable, err)
		}
		return cons, nil
	}
}

func mergeConsumer(have, want jetstream.ConsumerConfig) jetstream.ConsumerConfig {
	m := have
	if have.Description == want.Description {
		m.AckWait, m.MaxDeliver = want.AckWait, want.MaxDeliver
		if want.MaxAckPending != 0 {
			m.MaxAckPending = want.MaxAckPending
		}
		return m
	}
	if have.MaxAckPending > 0 && want.MaxAckPending > have.MaxAckPending {
		m.MaxAckPending = want.MaxAckPending
	}
	return m
}

// mergeMaxRunning keeps a queue's cap on running jobs (see
// ConsumerConfig.MaxRunning) unless this worker sets or lifts it.
func mergeMaxRunning(have, m jetstream.ConsumerConfig, c ConsumerConfig) jetstream.ConsumerConfig {
	capped := have.Metadata[MaxRunningMeta] != ""
	switch {
	case c.MaxRunning > 0:
		m.MaxAckPending = c.MaxRunning
		m.Metadata = maps.Clone(have.Metadata)
		if m.Metadata == nil {
			m.Metadata = map[string]string{}
		}
		m.Metadata[MaxRunningMeta] = strconv.Itoa(c.MaxRunning)
	case c.MaxRunning < 0 && capped:
		m.MaxAckPending = c.MaxAckPending
		m.Metadata = maps.Clone(have.Metadata)
		delete(m.Metadata, MaxRunningMeta)
	case capped:
		m.MaxAckPending = have.MaxAckPending
	}
	return m
}
