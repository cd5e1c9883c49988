package naq

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// ErrAlreadyFinished: the job completed, failed or was cancelled before.
var ErrAlreadyFinished = errors.New("naq: job already finished")

// Cancel cancels a job. A pending job never runs; a running one has its
// handler's context cancelled (cause ErrCancelled), through naq_cancelled,
// which every worker watches. Its result becomes "cancelled" at once, so Wait
// returns; its dependents fail. A finished job gives ErrAlreadyFinished.
func (c *Client) Cancel(ctx context.Context, id string) error {
	if err := layout.ValidateJobID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	if r, err := c.result(ctx, id); err != nil {
		return err
	} else if r != nil {
		return fmt.Errorf("%w: cannot cancel job %s: it is %s", ErrAlreadyFinished, id, r.Status)
	}
	if _, err := c.cancelDelayed(ctx, id); err != nil {
		return err
	}
	now := time.Now().UTC()
	kv, err := c.cancelledBucket(ctx)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, id, []byte(now.Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("naq: cancel job %s: %w", id, err)
	}
	if err := c.records.Cancel(ctx, id, now); err != nil {
		return fmt.Errorf("naq: cancel job %s: %w", id, err)
	}
	return nil
}

func (c *Client) cancelledBucket(ctx context.Context) (jetstream.KeyValue, error) {
	return c.lazyBucket(ctx, &c.cancelled, layout.EnsureCancelledBucket)
}

// lazyBucket provisions a bucket the first time the client needs it.
func (c *Client) lazyBucket(ctx context.Context, kv *jetstream.KeyValue,
	ensure func(context.Context, jetstream.JetStream, layout.Config) (jetstream.KeyValue, error)) (jetstream.KeyValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *kv == nil {
		b, err := ensure(ctx, c.js, c.layout)
		if err != nil {
			return nil, err
		}
		*kv = b
	}
	return *kv, nil
}

// ListWorkers returns the workers' heartbeat records, sorted by id; an empty
// list when there are none. A record whose last heartbeat is older than two
// heartbeat intervals is marked Stale. Python naq's workers are listed too
// (marked Foreign); records it cannot read are skipped, and counted in one
// log line.
func (c *Client) ListWorkers(ctx context.Context) ([]WorkerInfo, error) {
	kv, err := c.lazyBucket(ctx, &c.workers, layout.EnsureWorkersBucket)
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
