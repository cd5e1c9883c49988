package naq

// The client's reads of a job's records: its status, its result, and waiting
// for the result.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/records"
)

// Status returns the job's lifecycle record. A finished job's record comes
// from its result; a running, retrying, scheduled or cancelled one from
// naq_job_status. ErrJobNotFound means no record: the id is unknown, the job
// has expired, or no worker has picked it up yet.
func (c *Client) Status(ctx context.Context, id string) (*JobStatus, error) {
	r, err := c.result(ctx, id)
	if errors.Is(err, ErrForeignRecord) {
		// A result naq-go cannot read: the status record may still say how
		// the job ended.
		if rec, recErr := c.statusRecord(ctx, id); recErr == nil {
			return rec, nil
		}
	}
	if err != nil {
		return nil, err
	}
	rec, recErr := c.statusRecord(ctx, id)
	if r == nil && errors.Is(recErr, ErrJobNotFound) {
		rec, recErr = c.delayedStatus(ctx, id)
	}
	if recErr != nil {
		if r == nil {
			return nil, recErr
		}
		rec = nil // a result says enough
	}
	st := records.Merge((*records.Result)(r), (*records.Status)(rec), time.Now())
	return (*JobStatus)(st), nil
}

// statusRecord reads the job's status record; ErrJobNotFound when there is
// none.
func (c *Client) statusRecord(ctx context.Context, id string) (*JobStatus, error) {
	st, err := c.records.StatusRecord(ctx, id)
	if err == nil && st == nil {
		return nil, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	return (*JobStatus)(st), err
}

// Result returns a finished job's result. ErrResultNotReady means the job is
// known but has not finished; ErrJobNotFound that nothing is known of it.
func (c *Client) Result(ctx context.Context, id string) (*Result, error) {
	r, err := c.result(ctx, id)
	if err != nil || r != nil {
		return r, err
	}
	if _, err := c.statusRecord(ctx, id); errors.Is(err, ErrJobNotFound) {
		if _, err := c.delayedStatus(ctx, id); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s", ErrResultNotReady, id)
}

// result reads the job's result; nil, nil when there is none.
func (c *Client) result(ctx context.Context, id string) (*Result, error) {
	if err := layout.ValidateJobID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	r, err := c.records.Result(ctx, id)
	return (*Result)(r), err
}

// DecodeResult reads job id's record from naq_results: naq-go's, or Python
// naq's {status, result, error, traceback}, as JSON or pickled plain data.
// Any other record wraps ErrForeignRecord.
func DecodeResult(id string, data []byte) (*Result, error) {
	r, err := records.DecodeResult(id, data)
	return (*Result)(r), err
}

// Wait blocks until the job finishes and returns its result; a failed job's
// result comes with its *JobFailedError. It watches the job's key in the
// results bucket: no polling.
func (c *Client) Wait(ctx context.Context, id string) (*Result, error) {
	if err := layout.ValidateJobID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.records.Results.Watch(ctx, id, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("naq: wait for job %s: %w", id, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("naq: wait for job %s: %w", id, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("naq: wait for job %s: watcher closed", id)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			r, err := DecodeResult(id, e.Value())
			if err != nil {
				return nil, err
			}
			return r, r.Err()
		}
	}
}
