package naq

// Reading a queue's job messages page by page, by stream sequence: each page
// costs one lookup per job, however long the queue.

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// MaxPageSize bounds the jobs or records one page reads.
const MaxPageSize = 500

// QueuedJob is one job message waiting or running in naq_jobs.
type QueuedJob struct {
	// Seq is the message's sequence in naq_jobs: pages start from one.
	Seq uint64
	// Stored is when the server stored the message.
	Stored time.Time
	// Queue is the queue it was published to.
	Queue string
	// Delivered says a worker has been handed the job: it runs, or waits
	// for a retry. Otherwise it is pending.
	Delivered bool
	// Job is the decoded job; nil when the message is not a valid job, then
	// DecodeError says why and Raw holds its bytes.
	Job         *Job
	Raw         []byte
	DecodeError string
}

// QueuedJobs is a page of a queue's job messages.
type QueuedJobs struct {
	Jobs []QueuedJob
	// Next is the sequence the following page starts from; 0 when this page
	// reached the end of the queue.
	Next uint64
}

// QueueJobs returns up to limit job messages of queue (at most MaxPageSize)
// from stream sequence from on, oldest first. Start at 1 for the whole queue,
// or at QueueInfo.Delivered+1 for the jobs no worker has been handed yet.
// Nothing is consumed.
func (c *Client) QueueJobs(ctx context.Context, queue string, from uint64, limit int) (QueuedJobs, error) {
	var page QueuedJobs
	if err := layout.ValidateQueue(queue); err != nil {
		return page, fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	limit = pageLimit(limit)
	s, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return page, fmt.Errorf("naq: jobs of queue %s: %w", queue, err)
	}
	var delivered uint64
	if ci, err := s.Consumer(ctx, layout.ConsumerName(queue)); err == nil {
		delivered = ci.CachedInfo().Delivered.Stream
	}
	subj := layout.QueueSubject(queue)
	seq := max(from, 1)
	for len(page.Jobs) < limit {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if layout.IsNotFound(err) {
			return page, nil
		}
		if err != nil {
			return page, fmt.Errorf("naq: jobs of queue %s from %d: %w", queue, seq, err)
		}
		qj := queuedJob(m, queue)
		qj.Delivered = m.Sequence <= delivered
		page.Jobs = append(page.Jobs, qj)
		seq = m.Sequence + 1
	}
	page.Next = seq
	return page, nil
}

// QueuedJobAt returns the job message at seq in naq_jobs; ErrJobNotFound
// when it is gone (done, purged) or is no job message.
func (c *Client) QueuedJobAt(ctx context.Context, seq uint64) (*QueuedJob, error) {
	s, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, fmt.Errorf("naq: job message %d: %w", seq, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if layout.IsNotFound(err) {
		return nil, fmt.Errorf("%w: no job message %d in %s (it finished or was removed)", ErrJobNotFound, seq, layout.JobsStream)
	}
	if err != nil {
		return nil, fmt.Errorf("naq: job message %d: %w", seq, err)
	}
	queue, ok := cutQueue(m.Subject)
	if !ok {
		return nil, fmt.Errorf("%w: message %d is on %s, not a queue", ErrJobNotFound, seq, m.Subject)
	}
	qj := queuedJob(m, queue)
	if ci, err := s.Consumer(ctx, layout.ConsumerName(queue)); err == nil {
		qj.Delivered = m.Sequence <= ci.CachedInfo().Delivered.Stream
	}
	return &qj, nil
}

func cutQueue(subject string) (string, bool) {
	if len(subject) <= len(layout.JobsSubjectPrefix) || subject[:len(layout.JobsSubjectPrefix)] != layout.JobsSubjectPrefix {
		return "", false
	}
	return subject[len(layout.JobsSubjectPrefix):], true
}

func queuedJob(m *jetstream.RawStreamMsg, queue string) QueuedJob {
	qj := QueuedJob{Seq: m.Sequence, Stored: m.Time, Queue: queue}
	j, err := decodeJob(m.Data, queue)
	if err != nil {
		qj.Raw, qj.DecodeError = m.Data, err.Error()
		return qj
	}
	qj.Job = j
	return qj
}

// pageLimit is the page size asked for: 50 when not given, at most
// MaxPageSize.
func pageLimit(limit int) int {
	switch {
	case limit <= 0:
		return 50
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}
