package worker

// StatusManager: the worker's own heartbeat record in naq_workers (state,
// queues, running jobs, counters). Not here: the status of jobs (jobs.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// Activity is what a worker is doing right now, for its heartbeat record.
type Activity struct {
	RunningJobs []string
	Processed   int64
	Failed      int64
	QueueStats  map[string]naq.QueueCounters
}

// StatusManager keeps the worker's record in naq_workers: written at every
// state change and every heartbeat interval, expiring on its own three
// intervals after the last heartbeat of a worker that died.
type StatusManager struct {
	sh       *Shared
	kv       jetstream.KeyValue
	activity func() Activity
	// recordTTL: the bucket takes per-message TTLs, so each record expires
	// TTL after its heartbeat.
	recordTTL bool

	mu    sync.Mutex
	state naq.WorkerState // starting or stopping; otherwise derived from activity
}

// NewStatusManager provisions naq_workers. activity reports the worker's
// running jobs and counters (nil: none).
func NewStatusManager(ctx context.Context, sh *Shared, activity func() Activity) (*StatusManager, error) {
	kv, err := layout.EnsureBucket(ctx, sh.JS, sh.layout(), layout.WorkersBucket)
	if err != nil {
		return nil, err
	}
	if activity == nil {
		activity = func() Activity { return Activity{} }
	}
	m := &StatusManager{sh: sh, kv: kv, activity: activity, state: naq.WorkerStarting}
	if m.recordTTL, err = layout.MsgTTLAllowed(ctx, sh.JS, "KV_"+layout.WorkersBucket); err != nil {
		return nil, err
	}
	if !m.recordTTL {
		sh.Logger.Warn("the workers bucket does not take per-message TTLs: a crashed worker's record stays until the bucket's max age removes it",
			"bucket", layout.WorkersBucket)
	}
	return m, nil
}

// TTL is how long a record outlives the worker's last heartbeat.
func (m *StatusManager) TTL() time.Duration {
	return max(3*m.sh.Config.HeartbeatInterval, 2*time.Second)
}

// Record returns the record the next heartbeat writes.
func (m *StatusManager) Record() naq.WorkerInfo {
	a := m.activity()
	m.mu.Lock()
	state := m.state
	m.mu.Unlock()
	if state == "" {
		state = naq.WorkerIdle
		if len(a.RunningJobs) > 0 {
			state = naq.WorkerBusy
		}
	}
	if a.RunningJobs == nil {
		a.RunningJobs = []string{}
	}
	id := m.sh.Identity
	return naq.WorkerInfo{
		ID: id.ID, Hostname: id.Hostname, PID: id.PID, Queues: m.sh.Config.Queues,
		Concurrency: m.sh.Config.Concurrency, State: state, RunningJobs: a.RunningJobs,
		Processed: a.Processed, Failed: a.Failed, QueueStats: a.QueueStats, StartedAt: id.StartedAt,
		LastHeartbeat: time.Now().UTC(), HeartbeatInterval: m.sh.Config.HeartbeatInterval,
	}
}

// SetState fixes the reported state (starting, stopping) or, with "", lets it
// follow activity (idle or busy); then writes the record.
func (m *StatusManager) SetState(ctx context.Context, s naq.WorkerState) error {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
	return m.Beat(ctx)
}

// Beat writes the record now, with a fresh TTL.
func (m *StatusManager) Beat(ctx context.Context) error {
	data, err := json.Marshal(m.Record())
	if err != nil {
		return fmt.Errorf("encode worker record: %w", err)
	}
	msg := &nats.Msg{Subject: layout.WorkerSubject(m.sh.Identity.ID), Data: data, Header: nats.Header{}}
	if m.recordTTL {
		msg.Header.Set(jetstream.MsgTTLHeader, m.TTL().String())
	}
	if _, err := m.sh.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("write worker record: %w", err)
	}
	return nil
}

// Run writes the record every heartbeat interval until ctx ends. A failed write
// is logged and retried at the next tick.
func (m *StatusManager) Run(ctx context.Context) {
	t := time.NewTicker(m.sh.Config.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Beat(ctx); err != nil && ctx.Err() == nil {
				m.sh.Logger.Warn("heartbeat failed", "err", err)
			}
		}
	}
}

// Unregister removes the worker's record.
func (m *StatusManager) Unregister(ctx context.Context) error {
	if err := m.kv.Purge(ctx, m.sh.Identity.ID); err != nil {
		return fmt.Errorf("remove worker record: %w", err)
	}
	return nil
}
