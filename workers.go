package naq

// Workers as the client sees them: their heartbeat records in naq_workers,
// naq-go's and Python naq's, and the listing of them. Not here: the worker
// that writes them (worker/status.go).

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/naqgo/naq/internal/layout"
)

// WorkerState is what a worker is doing.
type WorkerState string

// Worker states.
const (
	WorkerStarting WorkerState = "starting"
	WorkerIdle     WorkerState = "idle"
	WorkerBusy     WorkerState = "busy"
	WorkerStopping WorkerState = "stopping"
)

// WorkerInfo is a worker's heartbeat record in naq_workers.
type WorkerInfo struct {
	ID          string      `json:"worker_id"`
	Hostname    string      `json:"hostname"`
	PID         int         `json:"pid"`
	Queues      []string    `json:"queues"`
	Concurrency int         `json:"concurrency"`
	State       WorkerState `json:"status"`
	RunningJobs []string    `json:"running_jobs"`
	Processed   int64       `json:"processed"`
	Failed      int64       `json:"failed"`
	// QueueStats counts per queue since the worker started.
	QueueStats        map[string]QueueCounters `json:"queue_stats,omitempty"`
	StartedAt         time.Time                `json:"started_at"`
	LastHeartbeat     time.Time                `json:"last_heartbeat"`
	HeartbeatInterval time.Duration            `json:"heartbeat_interval_ns"`
	// Stale is set by ListWorkers when no heartbeat came for two intervals.
	Stale bool `json:"-"`
	// Foreign marks a Python naq worker: its record names no queues,
	// concurrency or counters, and at most one running job.
	Foreign bool `json:"foreign,omitempty"`
}

// QueueCounters are a worker's counts for one queue: jobs processed (a final
// record stored: completed, failed or cancelled), failed for good, retries
// scheduled, and jobs running now.
type QueueCounters struct {
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
	InFlight  int64 `json:"in_flight"`
}

// ListWorkers returns the workers' heartbeat records, sorted by id; an empty
// list when there are none. A record whose last heartbeat is older than two
// heartbeat intervals is marked Stale. Python naq's workers are listed too
// (marked Foreign); records it cannot read are skipped, and counted in one
// log line.
func (c *Client) ListWorkers(ctx context.Context) ([]WorkerInfo, error) {
	kv, err := c.lazyBucket(ctx, &c.workers, layout.WorkersBucket)
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("naq: list workers: %w", err)
	}
	out := []WorkerInfo{}
	now := time.Now()
	skipped := 0
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // expired between listing and reading
		}
		w, err := decodeWorker(e.Value())
		if err != nil {
			skipped++
			continue
		}
		interval := w.HeartbeatInterval
		if interval <= 0 {
			interval = 15 * time.Second
		}
		w.Stale = now.Sub(w.LastHeartbeat) > 2*interval
		out = append(out, w)
	}
	logSkipped(c.log, skipped, "worker record", "worker records")
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
