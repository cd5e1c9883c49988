package naq

// Queue administration: reading the queues' state from naq_jobs and its
// consumers, pausing, resuming and deleting them. The CLI and the dashboard
// both work through these.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// ErrQueueNotFound: a queue with no jobs and no consumer, one naq has never
// seen (most likely a typo).
var ErrQueueNotFound = errors.New("naq: queue not found")

// PauseIndefinitely is how far ahead PauseQueue with a zero time pauses: in
// effect until ResumeQueue. A PausedUntil further away than half of it reads
// as "until resumed" (see QueueInfo.PausedIndefinitely).
const PauseIndefinitely = 100 * 365 * 24 * time.Hour

// QueueInfo is one queue: its job messages in naq_jobs and the state of the
// consumer workers share (naq-worker-<queue>).
type QueueInfo struct {
	Queue string `json:"queue"`
	// Messages is the job messages of the queue in naq_jobs: waiting and
	// running (a work-queue stream keeps a message until it is acknowledged).
	Messages uint64 `json:"messages"`
	// Pending is the jobs not yet delivered to a worker.
	Pending uint64 `json:"pending"`
	// Running is the jobs delivered and not yet answered (including jobs put
	// back with a delay, waiting for their retry).
	Running      int        `json:"running"`
	Redelivered  int        `json:"redelivered"`
	WaitingPulls int        `json:"waiting_pulls"`
	Consumer     bool       `json:"consumer"`
	Paused       bool       `json:"paused"`
	PausedUntil  *time.Time `json:"paused_until,omitempty"`
	// Workers and Rate are filled by QueueStats only: the workers with a
	// fresh heartbeat on the queue, and the deliveries answered per second.
	Workers *int     `json:"workers,omitempty"`
	Rate    *float64 `json:"rate,omitempty"`

	// Answered counts the deliveries answered since the consumer was made;
	// two readings make a rate.
	Answered int64 `json:"-"`
	// AckFloor and Delivered are stream sequences of the consumer: messages
	// up to AckFloor are done, those after Delivered not yet handed out, and
	// the ones between are running or waiting for a retry.
	AckFloor  uint64 `json:"-"`
	Delivered uint64 `json:"-"`
}

// PausedIndefinitely reports whether the queue is paused with no end set
// (PauseQueue with a zero time).
func (q *QueueInfo) PausedIndefinitely() bool {
	return q.Paused && (q.PausedUntil == nil || time.Until(*q.PausedUntil) > PauseIndefinitely/2)
}

// Queues returns every queue that has jobs in naq_jobs or a worker consumer,
// sorted by name. It costs one stream info and one consumer listing, however
// many jobs wait.
func (c *Client) Queues(ctx context.Context) ([]QueueInfo, error) {
	snap, err := c.queueSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]QueueInfo, 0, len(snap))
	for _, q := range snap {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out, nil
}

// Queue returns one queue; ErrQueueNotFound when it has no jobs and no
// consumer.
func (c *Client) Queue(ctx context.Context, name string) (*QueueInfo, error) {
	if err := layout.ValidateQueue(name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	snap, err := c.queueSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	q, ok := snap[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no jobs and no worker has used it", ErrQueueNotFound, name)
	}
	return q, nil
}

// QueueStats returns the named queues (none: every known queue) with their
// workers and, when interval is above zero, their rate: the queues are read
// twice, interval apart, and the rate is the deliveries answered in between
// per second. A named queue naq has not seen is returned empty.
func (c *Client) QueueStats(ctx context.Context, names []string, interval time.Duration) ([]QueueInfo, error) {
	for _, n := range names {
		if err := layout.ValidateQueue(n); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidQueue, err)
		}
	}
	first, err := c.queueSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	pick := func(s map[string]*QueueInfo) []QueueInfo {
		if len(names) == 0 {
			out := make([]QueueInfo, 0, len(s))
			for _, q := range s {
				out = append(out, *q)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
			return out
		}
		out := make([]QueueInfo, 0, len(names))
		for _, n := range names {
			q, ok := s[n]
			if !ok {
				q = &QueueInfo{Queue: n}
			}
			out = append(out, *q)
		}
		return out
	}
	qs := pick(first)
	if interval > 0 {
		start := time.Now()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		second, err := c.queueSnapshot(ctx)
		if err != nil {
			return nil, err
		}
		elapsed := time.Since(start).Seconds()
		qs = pick(second)
		for i := range qs {
			q := &qs[i]
			if !q.Consumer {
				continue
			}
			var before int64
			if p, ok := first[q.Queue]; ok && p.Consumer {
				before = p.Answered
			}
			r := float64(max(q.Answered-before, 0)) / elapsed
			q.Rate = &r
		}
	}
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		return nil, err
	}
	for i := range qs {
		n := 0
		for _, w := range workers {
			for _, wq := range w.Queues {
				if wq == qs[i].Queue && !w.Stale {
					n++
				}
			}
		}
		qs[i].Workers = &n
	}
	return qs, nil
}

// queueSnapshot reads the queues that have messages on naq_jobs (the stream's
// subject counts) or a worker consumer (naq-worker-<queue>).
func (c *Client) queueSnapshot(ctx context.Context) (map[string]*QueueInfo, error) {
	s, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, fmt.Errorf("naq: queues: stream %s: %w", layout.JobsStream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(layout.JobsSubjectPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("naq: queues: stream %s: %w", layout.JobsStream, err)
	}
	snap := map[string]*QueueInfo{}
	get := func(q string) *QueueInfo {
		if snap[q] == nil {
			snap[q] = &QueueInfo{Queue: q}
		}
		return snap[q]
	}
	for subj, n := range info.State.Subjects {
		q, ok := strings.CutPrefix(subj, layout.JobsSubjectPrefix)
		if !ok || q == "" {
			continue
		}
		qi := get(q)
		qi.Messages, qi.Pending = n, n
	}
	lister := s.ListConsumers(ctx)
	for ci := range lister.Info() {
		q, ok := strings.CutPrefix(ci.Name, layout.ConsumerPrefix)
		if !ok || layout.ValidateQueue(q) != nil || ci.Config.FilterSubject != layout.QueueSubject(q) {
			continue
		}
		qi := get(q)
		qi.Consumer = true
		qi.Pending = ci.NumPending
		qi.Running = ci.NumAckPending
		qi.Redelivered = ci.NumRedelivered
		qi.WaitingPulls = ci.NumWaiting
		qi.Paused = ci.Paused
		if ci.Paused && ci.Config.PauseUntil != nil {
			t := ci.Config.PauseUntil.UTC()
			qi.PausedUntil = &t
		}
		qi.Answered = int64(ci.Delivered.Consumer) - int64(ci.NumAckPending)
		qi.AckFloor, qi.Delivered = ci.AckFloor.Stream, ci.Delivered.Stream
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("naq: queues: consumers of %s: %w", layout.JobsStream, err)
	}
	return snap, nil
}

// QueuePause is a queue's pause state after PauseQueue or ResumeQueue.
type QueuePause struct {
	Queue       string     `json:"queue"`
	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// Created says PauseQueue made the queue's consumer (paused): no worker
	// had made it yet, so the first jobs enqueued on it wait.
	Created bool `json:"consumer_created,omitempty"`
}

// PauseQueue pauses the queue's consumer until the given time (zero: until
// ResumeQueue): workers get no new jobs, running ones finish, producers keep
// enqueueing. A queue with no consumer yet gets one, made paused as a worker
// would make it. To refuse names naq has not seen, check Queue first.
func (c *Client) PauseQueue(ctx context.Context, queue string, until time.Time) (QueuePause, error) {
	st := QueuePause{Queue: queue}
	if err := layout.ValidateQueue(queue); err != nil {
		return st, fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	if until.IsZero() {
		until = time.Now().Add(PauseIndefinitely)
	}
	resp, err := c.js.PauseConsumer(ctx, layout.JobsStream, layout.ConsumerName(queue), until)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		s, serr := c.js.Stream(ctx, layout.JobsStream)
		if serr != nil {
			return st, fmt.Errorf("naq: pause queue %s: %w", queue, serr)
		}
		if _, serr := layout.EnsureConsumer(ctx, s, queue, layout.ConsumerConfig{}); serr != nil {
			return st, fmt.Errorf("naq: pause queue %s: %w", queue, serr)
		}
		st.Created = true
		resp, err = c.js.PauseConsumer(ctx, layout.JobsStream, layout.ConsumerName(queue), until)
	}
	if err != nil {
		return st, fmt.Errorf("naq: pause queue %s: %w", queue, err)
	}
	st.Paused = resp.Paused
	if resp.Paused {
		t := resp.PauseUntil.UTC()
		st.PausedUntil = &t
	}
	return st, nil
}

// ResumeQueue lets workers take the queue's jobs again. Running workers learn
// of it from the server's advisory and take the waiting jobs at once. A queue
// no worker has run on gives ErrQueueNotFound.
func (c *Client) ResumeQueue(ctx context.Context, queue string) error {
	if err := layout.ValidateQueue(queue); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	_, err := c.js.ResumeConsumer(ctx, layout.JobsStream, layout.ConsumerName(queue))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("%w: queue %s has no consumer (no worker has run on it): nothing to resume", ErrQueueNotFound, queue)
	}
	if err != nil {
		return fmt.Errorf("naq: resume queue %s: %w", queue, err)
	}
	return nil
}

// DeleteQueue removes every job message of the queue (waiting or running:
// running ones still finish, their acknowledgement finds nothing) and its
// consumer, with its pause state. Results, status and failed-job records
// stay. It returns how many messages it removed. A worker still configured
// for the queue makes its consumer again.
func (c *Client) DeleteQueue(ctx context.Context, queue string) (uint64, error) {
	n, err := c.Purge(ctx, queue)
	if err != nil {
		return 0, err
	}
	err = c.js.DeleteConsumer(ctx, layout.JobsStream, layout.ConsumerName(queue))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return n, fmt.Errorf("naq: delete the consumer of queue %s (its %d jobs are gone): %w", queue, n, err)
	}
	return n, nil
}
