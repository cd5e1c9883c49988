package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// ioTimeout bounds a result write; reads and other writes take the JetStream
// default timeout (5 s).
const ioTimeout = 30 * time.Second

// settle decides what an outcome leads to: a put-back (a forced shutdown, a
// snooze, a retry), or the job's final record, stored before the ack. A job
// that ended without running is failed (or cancelled) at once, its attempt
// not counted.
func (r *run) settle(d *delivery, o outcome) {
	job, m := d.job, d.msg
	if o.unrun {
		r.finish(d, r.jobs.newResult(job, job.Attempt-1, time.Time{}, nil, o.err, ""), true)
		return
	}
	switch snooze := asSnooze(o.err); {
	case o.err != nil && r.forced.Load():
		// Forced shutdown: put the job back at once, its attempt not counted.
		r.later(r.io, job, m, 0, job.Attempt-1, "worker shut down while running it", d.naks)
		return
	case snooze != nil:
		r.later(r.io, job, m, snooze.Delay, job.Attempt-1, "", d.naks)
		return
	case o.err != nil && r.shouldRetry(job, o.err):
		r.later(r.io, job, m, max(r.retryDelay(job), retryFloor(o.err)), job.Attempt, o.err.Error(), d.naks)
		return
	}
	var value []byte
	if o.err == nil {
		var err error
		if value, err = marshalResult(o.value); err != nil {
			o.err = SkipRetry(fmt.Errorf("result of type %T does not marshal to JSON: %w", o.value, err))
		}
	}
	res := r.jobs.newResult(job, job.Attempt, o.started, value, o.err, o.traceback)
	r.finish(d, res, o.hasRecord || job.Attempt > 1)
}

// asSnooze returns err's snooze request, if any. Its own function: the
// target of errors.As lives on the heap, and only failed jobs need one.
func asSnooze(err error) *SnoozeError {
	if err == nil {
		return nil
	}
	var snooze *SnoozeError
	if errors.As(err, &snooze) {
		return snooze
	}
	return nil
}

// marshalResult encodes a handler's result; a MarshalJSON that panics is an
// error, not a dead worker.
func marshalResult(v any) (b []byte, err error) {
	if v == nil {
		return nil, nil // stored as null
	}
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return json.Marshal(v)
}

func (r *run) shouldRetry(job *naq.Job, err error) bool {
	switch {
	case IsSkipRetry(err), job.Attempt > job.MaxRetries:
		return false
	case len(job.IgnoreOn) > 0 && matchesKind(err, job.IgnoreOn):
		return false
	case len(job.RetryOn) > 0:
		return matchesKind(err, job.RetryOn)
	}
	return true
}

// retryDelay is the wait before the job's next attempt, with jitter when
// configured.
func (r *run) retryDelay(job *naq.Job) time.Duration {
	d := job.RetryDelayFor(job.Attempt - 1)
	if span := int64(float64(d) * r.sh.Config.RetryJitter); span > 0 {
		d += time.Duration(rand.Int64N(span))
	}
	return d
}

// later puts the job back for delay, recording it as retrying; attempts is the
// number of attempts that count so far, naks how often the job was put back
// before.
func (r *run) later(ctx context.Context, job *naq.Job, m jetstream.Msg, delay time.Duration, attempts int, errMsg string, naks int) {
	st := r.jobs.statusOf(job, naq.StateRetrying)
	st.Attempts, st.Error, st.NextAttemptAt, st.Naks = attempts, errMsg, time.Now().UTC().Add(delay), naks+1
	if err := r.jobs.SetStatus(ctx, st); err != nil {
		// Without the record the put-back would be counted as a lost
		// delivery; leave the job to come back after the ack wait instead.
		r.sh.Logger.Warn("status write failed; the job returns after the ack wait", "job", job.ID, "err", err)
		return
	}
	if delay >= LongWait && r.waitLong(ctx, job, m, delay, attempts, naks+1) {
		return
	}
	if err := m.NakWithDelay(delay); err != nil {
		r.sh.Logger.Warn("nak failed; the job returns after the ack wait", "job", job.ID, "err", err)
	}
}

// finish stores the result (and, for a failure, the failed-job record and a
// terminal status) and acknowledges the job only once they are stored. The
// writes complete asynchronously, and a job that only waits for them to be
// confirmed holds no slot (its handler is done), so a server slow to answer (a
// replicated stream) does not idle the handlers. The writers' windows
// (4 × Concurrency writes each) bound how many wait: a full window blocks the
// handler goroutine in finish, which keeps its slot until the write is sent.
func (r *run) finish(d *delivery, res *naq.Result, writeStatus bool) {
	job, m, md := d.job, d.msg, d.md
	// Most jobs write only their result: the others go in extra.
	var extra [2]*nats.Msg
	n := 0
	if res.Status == naq.StateFailed {
		rec := &naq.FailedJob{
			JobID: job.ID, Name: job.Name, Queue: job.Queue, Error: deref(res.Error), ErrorKind: res.ErrorKind,
			Traceback: deref(res.Traceback), Attempts: job.Attempt, MaxRetries: job.MaxRetries,
			EnqueuedAt: job.EnqueuedAt, FailedAt: res.FinishedAt, Job: m.Data(), Subject: m.Subject(),
			StreamSeq: md.Sequence.Stream,
		}
		if fm, err := r.failed.Msg(rec); err == nil {
			extra[n], n = fm, n+1
		}
	}
	if writeStatus {
		st := naq.StatusFromResult(res)
		st.MaxRetries = job.MaxRetries
		if sm, err := r.jobs.StatusMsg(st); err == nil {
			extra[n], n = sm, n+1
		}
	}
	f := &finishing{r: r, job: job, m: m, failed: res.Status == naq.StateFailed, left: 1 + n}
	f.buf = r.jobs.resultMsgInto(&f.result, job, res)
	r.writes.Add(1)
	done := f.done
	r.results.Write(r.io, &f.result, done)
	for _, msg := range extra[:n] {
		r.writer.Write(r.io, msg, done)
	}
}

// finishing is one job's writes in flight.
type finishing struct {
	r      *run
	job    *naq.Job
	m      jetstream.Msg
	failed bool
	result nats.Msg // the result's write, in the same allocation
	buf    *[]byte  // the result's encoding, back to its pool once answered

	mu   sync.Mutex
	left int
	err  error
}

// done collects one write's outcome; the last one acknowledges the job, or
// puts it back when a write failed.
func (f *finishing) done(err error) {
	f.mu.Lock()
	f.left--
	if err != nil && f.err == nil {
		f.err = err
	}
	last, werr := f.left == 0, f.err
	f.mu.Unlock()
	if !last {
		return
	}
	r := f.r
	defer r.writes.Done()
	r.jobs.releaseBuf(f.buf)
	if werr != nil {
		r.sh.Logger.Error("could not store the job's result; it will run again", "job", f.job.ID, "err", werr)
		_ = f.m.NakWithDelay(time.Second)
		return
	}
	if err := f.m.Ack(); err != nil {
		r.sh.Logger.Warn("ack failed; the job may run again", "job", f.job.ID, "err", err)
	}
	r.processed.Add(1)
	if f.failed {
		r.failedCount.Add(1)
		r.sh.Logger.Info("job failed", "job", f.job.ID, "name", f.job.Name, "attempts", f.job.Attempt)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
