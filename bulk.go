package naq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/internal/asyncpub"
)

// MaxAtomicBatch is the most jobs EnqueueMany takes with AllOrNothing: the
// server's limit for one atomic batch.
const MaxAtomicBatch = 1000

type bulkConfig struct{ atomic bool }

// BulkOption configures EnqueueMany.
type BulkOption func(*bulkConfig)

// AllOrNothing makes EnqueueMany store all the jobs or none, through the
// server's atomic batch publish (at most MaxAtomicBatch jobs; about half the
// throughput of the default pipelined mode).
func AllOrNothing() BulkOption { return func(c *bulkConfig) { c.atomic = true } }

// BulkError lists the jobs EnqueueMany could not enqueue, by job id.
type BulkError struct {
	Enqueued int
	Failed   map[string]error
}

func (e *BulkError) Error() string {
	ids := make([]string, 0, len(e.Failed))
	for id := range e.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	first := ids[0]
	return fmt.Sprintf("naq: %d of %d jobs not enqueued (first: job %s: %v); enqueueing the same jobs again is safe: ids already stored are not duplicated",
		len(ids), len(ids)+e.Enqueued, first, e.Failed[first])
}

// Unwrap returns the per-job errors.
func (e *BulkError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		errs = append(errs, err)
	}
	return errs
}

// EnqueueMany publishes many jobs at once. Every job is validated before any is
// published: one bad job fails the call and nothing is sent. By default the
// publishes are pipelined and each job stands alone; on a partial failure the
// *BulkError names the jobs that were not stored, and calling EnqueueMany again
// with the same jobs is safe (ids dedupe). With AllOrNothing the server stores
// all of them or none.
//
// Memory does not grow with the number of jobs beyond the jobs themselves
// (and a few bytes each): every job is validated in a first pass that keeps
// no encoding, then encoded again as it is sent, into messages reused from
// write to write, with at most a window of writes in flight. Batches with AllOrNothing, or sent by a client with
// enqueue hooks (WithEnqueueHook, naqotel), hold every message at once.
func (c *Client) EnqueueMany(ctx context.Context, jobs []*Job, opts ...BulkOption) error {
	var cfg bulkConfig
	for _, o := range opts {
		o(&cfg)
	}
	for _, j := range jobs {
		if j != nil && j.uniqueAsked() != nil {
			// Each needs its lock and may turn out a duplicate: a batch has
			// no way to say so per job.
			return fmt.Errorf("%w: job %s is unique: enqueue unique jobs one by one (EnqueueJob), which reports a duplicate", ErrInvalidJob, j.ID)
		}
	}
	// Hooks write into each message's headers: those batches keep theirs,
	// as do all-or-nothing ones (at most MaxAtomicBatch jobs).
	full := cfg.atomic || len(c.hooks) > 0
	var msgs []*nats.Msg
	var err error
	if full {
		msgs, err = c.encodeAll(jobs)
	} else {
		err = c.checkBulk(jobs)
	}
	if err != nil {
		return err
	}
	done := c.beforeEnqueue(ctx, jobs, msgs)
	if c.events {
		for _, j := range jobs {
			c.enqueued(j)
		}
	}
	c.indexDependents(ctx, jobs)
	switch {
	case cfg.atomic:
		err = c.publishAtomic(ctx, msgs)
	case full:
		err = c.publishPipelined(ctx, jobs, msgs)
	default:
		err = c.publishPipelined(ctx, jobs, nil)
	}
	if done != nil {
		done(err)
	}
	return err
}

// publishTimeout fails a pipelined publish that got no answer.
const publishTimeout = 30 * time.Second

// publishers returns the client's pipelined publishers, made on first use:
// the plain one, and the one batching jobs when naq_jobs takes batches (else
// nil).
func (c *Client) publishers() (*asyncpub.Writer, *asyncpub.BatchWriter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer == nil {
		w, err := asyncpub.NewWriter(c.nc, 4096)
		if err != nil {
			return nil, nil, err
		}
		c.writer = w
	}
	if c.batcher == nil && c.batchJobs {
		// The server confirms every 256th job at most; a pause of 1 ms
		// ends a batch that no EnqueueMany call flushed.
		b, err := asyncpub.NewBatchWriter(c.nc, c.writer, 4096, 256, time.Millisecond)
		if err != nil {
			return nil, nil, err
		}
		c.batcher = b
	}
	return c.writer, c.batcher, nil
}

// publishAtomic sends msgs as one atomic batch: the first message and the
// commit are requests, the ones between plain publishes (ADR-50).
func (c *Client) publishAtomic(ctx context.Context, msgs []*nats.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > MaxAtomicBatch {
		return fmt.Errorf("%w: %d jobs in one all-or-nothing batch; the server takes at most %d (split the jobs, or drop AllOrNothing)",
			ErrInvalidJob, len(msgs), MaxAtomicBatch)
	}
	batchID := newJobID()
	for i, m := range msgs {
		m.Header.Set("Nats-Batch-Id", batchID)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		last := i == len(msgs)-1
		if last {
			m.Header.Set("Nats-Batch-Commit", "1")
		}
		var err error
		switch {
		case i == 0 || last:
			var reply *nats.Msg
			if reply, err = c.nc.RequestMsgWithContext(ctx, m); err == nil {
				err = batchReplyError(reply, last)
			}
		default:
			err = c.nc.PublishMsg(m)
		}
		if err != nil {
			return fmt.Errorf("naq: all-or-nothing enqueue of %d jobs: nothing was enqueued: %w", len(msgs), err)
		}
	}
	return nil
}

// batchReplyError reads the server's answer to a batch request: empty for an
// accepted first message, a pub ack for the commit, or an API error.
func batchReplyError(reply *nats.Msg, commit bool) error {
	if len(reply.Data) == 0 {
		if commit {
			return errors.New("empty reply to the batch commit")
		}
		return nil
	}
	var resp struct {
		Count int `json:"count"`
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return fmt.Errorf("bad batch reply %q: %w", reply.Data, err)
	}
	if resp.Error != nil {
		msg := resp.Error.Description
		switch resp.Error.ErrCode {
		case 10201:
			msg += " (a job with one of these ids was already enqueued)"
		case 10174:
			msg += " (the naq_jobs stream predates atomic publish; restart a client to update it)"
		}
		return errors.New(strings.TrimSpace(msg) + " (code " + strconv.Itoa(resp.Error.ErrCode) + ")")
	}
	return nil
}
