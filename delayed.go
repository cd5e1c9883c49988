package naq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/records"
)

// DelayedJob is a job waiting for its time on the server: a delayed job, or a
// job a worker put back for a retry or snooze of an hour or more.
type DelayedJob struct {
	Job   *Job
	RunAt time.Time
	Seq   uint64
	// Attempts is the number of attempts a put-back job has used (0 for a
	// delayed job, which has not run yet).
	Attempts int
}

// EnqueueAt stores a job that runs at t (converted to UTC). The server holds it
// and publishes it to its queue on time, even when no naq process is running
// then; a t in the past runs at once, and a t after 2261 is refused
// (ErrInvalidJob): the server's clock ends in April 2262. Cancel removes it
// before it fires.
func (c *Client) EnqueueAt(ctx context.Context, t time.Time, name string, args any, opts ...EnqueueOption) (*Job, error) {
	j, err := NewJob(name, args, opts...)
	if err != nil {
		return nil, err
	}
	return j, c.EnqueueJobAt(ctx, t, j)
}

// EnqueueIn stores a job that runs after d.
func (c *Client) EnqueueIn(ctx context.Context, d time.Duration, name string, args any, opts ...EnqueueOption) (*Job, error) {
	return c.EnqueueAt(ctx, time.Now().Add(d), name, args, opts...)
}

// EnqueueJobAt stores a job built with NewJob to run at t. A unique job holds
// its key from now (see Unique).
func (c *Client) EnqueueJobAt(ctx context.Context, t time.Time, j *Job) error {
	if t.IsZero() {
		return fmt.Errorf("%w: a delayed job needs a time", ErrInvalidJob)
	}
	if h := layout.Horizon(); t.After(h) {
		// The server's clock for schedules ends in April 2262: a later
		// schedule would fire at once.
		return fmt.Errorf("%w: job %s: run time %s is after %s, the latest the server can schedule",
			ErrInvalidJob, j.ID, t.UTC().Format(time.RFC3339), h.Format(time.RFC3339))
	}
	if j.uniqueAsked() != nil {
		return c.enqueueUnique(ctx, j, func(ctx context.Context, j *Job) error { return c.enqueueJobAt(ctx, t, j) })
	}
	return c.enqueueJobAt(ctx, t, j)
}

func (c *Client) enqueueJobAt(ctx context.Context, t time.Time, j *Job) error {
	msg, err := c.jobMsg(j)
	if err != nil {
		return err
	}
	runAt := t.UTC()
	layout.ScheduleAt(msg, runAt, msg.Subject)
	msg.Subject = layout.DelayedSubject(j.ID)
	st := &records.Status{
		JobID: j.ID, State: StateScheduled, Name: j.Name, Queue: j.Queue, MaxRetries: j.MaxRetries,
		EnqueuedAt: j.EnqueuedAt, NextAttemptAt: runAt, UpdatedAt: time.Now().UTC(),
	}
	// The record goes first, so a job due at once cannot run before it; but
	// it must not overwrite the record of the job a duplicate leaves in place.
	created, err := c.createStatus(ctx, st)
	if err != nil {
		return fmt.Errorf("naq: schedule job %s: %w", j.ID, err)
	}
	if c.events {
		c.enqueuedAt(j, runAt)
	}
	c.indexDependents(ctx, []*Job{j})
	// Through the requester, which sends a write in flight again when the
	// connection comes back (the job id makes a second copy a no-op),
	// instead of waiting out the deadline for an answer lost with it.
	msg.Header.Set(jetstream.ExpectedStreamHeader, layout.JobsStream)
	dup, err := c.requester.PublishDup(ctx, msg)
	if err != nil {
		return fmt.Errorf("naq: schedule job %s for %s: %w", j.ID, runAt.Format(time.RFC3339), err)
	}
	j.Duplicate = dup
	if !created && !dup { // an id used before, beyond the duplicate window
		if err := c.records.PutStatus(ctx, st); err != nil {
			return fmt.Errorf("naq: schedule job %s: %w", j.ID, err)
		}
	}
	return nil
}

// ListDelayed returns the delayed jobs that have not fired yet, in the order
// they were scheduled, at most limit (0: all).
func (c *Client) ListDelayed(ctx context.Context, limit int) ([]DelayedJob, error) {
	if limit < 0 {
		return nil, fmt.Errorf("%w: limit %d must not be negative (0: all)", ErrInvalidRequest, limit)
	}
	s, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, fmt.Errorf("naq: list delayed jobs: %w", err)
	}
	out := []DelayedJob{}
	for seq := uint64(1); limit <= 0 || len(out) < limit; seq++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(layout.DelayedPrefix+"*"))
		if layout.IsNotFound(err) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("naq: list delayed jobs: %w", err)
		}
		seq = m.Sequence
		j, err := DecodeJobFromSubject(m.Header.Get(jetstream.ScheduleTargetHeader), m.Data)
		if err != nil {
			continue // not ours
		}
		attempts, _ := strconv.Atoi(m.Header.Get(layout.AttemptsHeader))
		out = append(out, DelayedJob{Job: j, RunAt: layout.ScheduledAt(m.Header), Seq: m.Sequence, Attempts: attempts})
	}
	return out, nil
}

// delayedStatus describes a job that waits on the server for its time (a
// delayed job, or a retry or snooze of an hour or more) from its schedule: its
// status record may expire during a long wait. ErrJobNotFound if it has none.
func (c *Client) delayedStatus(ctx context.Context, id string) (*JobStatus, error) {
	s, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, fmt.Errorf("naq: status of job %s: %w", id, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, layout.DelayedSubject(id))
	if layout.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("naq: status of job %s: %w", id, err)
	}
	j, err := DecodeJobFromSubject(m.Header.Get(jetstream.ScheduleTargetHeader), m.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	runAt := layout.ScheduledAt(m.Header)
	st := &JobStatus{
		JobID: id, State: StateScheduled, Name: j.Name, Queue: j.Queue, MaxRetries: j.MaxRetries,
		EnqueuedAt: j.EnqueuedAt, NextAttemptAt: runAt, UpdatedAt: m.Time.UTC(),
	}
	if a, err := strconv.Atoi(m.Header.Get(layout.AttemptsHeader)); err == nil {
		st.State, st.Attempts = StateRetrying, a
		st.Naks, _ = strconv.Atoi(m.Header.Get(layout.NaksHeader))
	}
	return st, nil
}

// cancelDelayed removes a delayed job's schedule; it reports whether there
// was one.
func (c *Client) cancelDelayed(ctx context.Context, id string) (bool, error) {
	n, err := layout.PurgeSubject(ctx, c.nc, layout.JobsStream, layout.DelayedSubject(id))
	if err != nil {
		return false, fmt.Errorf("naq: cancel delayed job %s: %w", id, err)
	}
	return n > 0, nil
}

// createStatus writes st where its job has no record yet (false when it has
// one), through the requester, under a message id of its own so that a copy
// sent again after a reconnect is a no-op.
func (c *Client) createStatus(ctx context.Context, st *records.Status) (bool, error) {
	msg := records.PendingMsg(st)
	msg.Header.Set(jetstream.MsgIDHeader, "naq-scheduled-"+st.JobID+"-"+strconv.FormatInt(st.UpdatedAt.UnixNano(), 36))
	_, err := c.requester.PublishDup(ctx, msg)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return false, nil // the job has a record
	}
	return err == nil, err
}
