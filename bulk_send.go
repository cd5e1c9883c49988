package naq

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/asyncpub"
	"github.com/naqgo/naq/internal/layout"
)

// publishPipelined sends jobs through the client's pipelined publishers and
// waits for every answer. msgs holds the jobs' messages when they were built
// beforehand; when nil, each job is encoded as it is sent, into a message
// reused once the server answered its last one, so a batch allocates about
// a window of messages, not one a job.
func (c *Client) publishPipelined(ctx context.Context, jobs []*Job, msgs []*nats.Msg) error {
	plain, batcher, err := c.publishers()
	if err != nil {
		return err
	}
	var jobWriter interface {
		Write(ctx context.Context, msg *nats.Msg, done func(error))
	} = plain
	if batcher != nil {
		jobWriter = batcher
	}
	p := newPipeline(jobs, c.pending)
	for k := range p.writes {
		j := jobs[k/p.per]
		switch {
		case p.record(k):
			plain.Write(ctx, pendingMsg(j), func(err error) { p.answer(k, err) })
		case msgs != nil:
			jobWriter.Write(ctx, msgs[k/p.per], func(err error) { p.answer(k, err) })
		default:
			s := p.slot()
			if err := p.encode(s, j, k); err != nil {
				p.settle(s, err) // validated before, but its arguments encode differently now
				continue
			}
			jobWriter.Write(ctx, &s.msg, s.done)
		}
	}
	if batcher != nil {
		batcher.Flush() // the last jobs are confirmed now, not after a pause
	}
	p.wait(ctx, plain, batcher)
	if len(p.failed) > 0 {
		return &BulkError{Enqueued: len(jobs) - len(p.failed), Failed: p.failed}
	}
	return nil
}

// pipeline is one pipelined bulk enqueue's bookkeeping. A job's pending
// record (with WithPendingStatus) only says what the job says, so its
// failure (a record already there, as for a job enqueued again) does not
// fail the job.
type pipeline struct {
	jobs    []*Job
	per     int // writes per job: its pending record (if any), then the job
	writes  int
	allDone chan struct{}

	mu        sync.Mutex
	failed    map[string]error
	answered  []bool // a byte a write, not the writes themselves
	left      int
	abandoned bool
	free      []*bulkSlot

	// The subject of the last queue encoded for (a batch is mostly one
	// queue); only the sending goroutine uses it.
	queue, subject string
}

func newPipeline(jobs []*Job, records bool) *pipeline {
	per := 1
	if records {
		per = 2
	}
	n := per * len(jobs)
	return &pipeline{jobs: jobs, per: per, writes: n, allDone: make(chan struct{}),
		failed: map[string]error{}, answered: make([]bool, n), left: n}
}

// record reports whether write k is a pending record.
func (p *pipeline) record(k int) bool { return p.per == 2 && k%2 == 0 }

// answer takes write k's outcome; false once the call stopped waiting.
func (p *pipeline) answer(k int, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.answerLocked(k, err)
}

func (p *pipeline) answerLocked(k int, err error) bool {
	if p.abandoned {
		return false
	}
	p.answered[k] = true
	if err != nil && !p.record(k) {
		p.failed[p.jobs[k/p.per].ID] = err
	}
	if p.left--; p.left == 0 {
		close(p.allDone)
	}
	return true
}

// wait waits for every answer, sweeping writes that got none, or for ctx.
func (p *pipeline) wait(ctx context.Context, plain *asyncpub.Writer, batcher *asyncpub.BatchWriter) {
	if p.writes == 0 {
		return
	}
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	for {
		select {
		case <-p.allDone:
			return
		case <-sweep.C:
			plain.Sweep(publishTimeout)
			if batcher != nil {
				batcher.Sweep(publishTimeout)
			}
		case <-ctx.Done():
			p.mu.Lock()
			p.abandoned = true
			for k, ok := range p.answered {
				if !ok && !p.record(k) {
					p.failed[p.jobs[k/p.per].ID] = fmt.Errorf("%w (the job may still have been stored)", ctx.Err())
				}
			}
			p.mu.Unlock()
			return
		}
	}
}

// bulkSlot is a job message a pipeline reuses: its header map, its id
// value, its data buffer and its callback are made once. The writers let go
// of a message before they call its callback, which gives the slot back.
type bulkSlot struct {
	msg  nats.Msg
	id   [1]string // the Nats-Msg-Id header's values
	k    int       // the write it carries
	done func(error)
}

// keptData is the largest buffer a slot keeps for its next job: a few big
// jobs do not pin a window of big buffers.
const keptData = 16 << 10

// slot returns a free slot, or a new one.
func (p *pipeline) slot() *bulkSlot {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return s
	}
	p.mu.Unlock()
	s := &bulkSlot{}
	s.msg.Header = nats.Header{jetstream.MsgIDHeader: s.id[:]}
	s.done = func(err error) { p.settle(s, err) }
	return s
}

// settle answers s's write and frees s, unless the call stopped waiting
// (a writer may still hold the message then).
func (p *pipeline) settle(s *bulkSlot, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.answerLocked(s.k, err) {
		return
	}
	if cap(s.msg.Data) > keptData {
		s.msg.Data = nil
	}
	p.free = append(p.free, s)
}

// encode makes s job j's message, for write k.
func (p *pipeline) encode(s *bulkSlot, j *Job, k int) error {
	data, err := j.appendWire(s.msg.Data[:0], wireChecked) // checkBulk checked it
	s.msg.Data, s.k = data, k
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgs, err)
	}
	if j.Queue != p.queue {
		p.queue, p.subject = j.Queue, layout.QueueSubject(j.Queue)
	}
	s.msg.Subject = p.subject
	s.id[0] = j.ID
	return nil
}
