package naq

// Cancelling a job: its cancellation in naq_cancelled, which every worker
// watches, and its records. Not here: the worker's side (worker/cancel.go).

import (
	"context"
	"errors"
	"fmt"
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
	return c.lazyBucket(ctx, &c.cancelled, layout.CancelledBucket)
}
