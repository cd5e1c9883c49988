package worker

// The third step of a delivered job: what its outcome leads to, a put-back
// (retry, snooze, shutdown) or its final record. Not here: storing that
// record before the ack (store.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
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
		if job.Flow != nil {
			r.releaseUnique(job, naq.UniqueActive, naq.UniquePending)
		}
		r.finish(d, r.jobs.newResult(&d.result, job, job.Attempt-1, time.Time{}, nil, o.err, ""), true)
		return
	}
	switch snooze := asSnooze(o.err); {
	case o.err != nil && r.forced.Load():
		// Forced shutdown: put the job back at once, its attempt not counted.
		r.logLater(job, 0, nil, "job put back: the worker shut down while running it")
		if r.obs != nil {
			r.obs.later(naq.EventPutBack, job, 0, nil, "shutdown", 0)
		}
		r.later(r.io, job, m, 0, job.Attempt-1, "worker shut down while running it", d.naks)
		return
	case snooze != nil:
		r.logLater(job, snooze.Delay, nil, "job snoozed")
		if r.obs != nil {
			r.obs.later(naq.EventSnoozed, job, snooze.Delay, nil, "", 0)
		}
		r.later(r.io, job, m, snooze.Delay, job.Attempt-1, "", d.naks)
		return
	case o.err != nil && r.shouldRetry(job, o.err):
		delay := max(r.retryDelay(job), retryFloor(o.err))
		r.logLater(job, delay, o.err, "")
		if c := r.counters(job.Queue); c != nil {
			c.retried.Add(1)
		}
		if r.obs != nil {
			r.obs.later(naq.EventRetryScheduled, job, delay, o.err, "", time.Since(o.started))
		}
		r.later(r.io, job, m, delay, job.Attempt, o.err.Error(), d.naks)
		return
	}
	var value []byte
	if o.err == nil {
		var err error
		if value, err = marshalResult(o.value); err != nil {
			o.err = SkipRetry(fmt.Errorf("result of type %T does not marshal to JSON: %w", o.value, err))
		} else if limit := r.jobs.maxValue; len(value) > limit {
			// It could never be stored: fail the job once, not again and again.
			o.err = SkipRetry(&Error{Kind: KindResultTooLarge, Err: fmt.Errorf(
				"result of %d bytes is over the %d bytes the server stores in one record", len(value), limit)})
			value = nil
		}
	}
	res := r.jobs.newResult(&d.result, job, job.Attempt, o.started, value, o.err, o.traceback)
	if job.Flow != nil {
		r.releaseUnique(job, naq.UniqueActive)
	}
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
	if b, err = json.Marshal(v); err == nil && !utf8.Valid(b) {
		// A json.Marshaler can write any bytes; the record must stay JSON.
		err = errors.New("its JSON is not valid UTF-8")
	}
	return b, err
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
		if d > time.Duration(math.MaxInt64)-time.Duration(span) {
			return time.Duration(math.MaxInt64) // the sum would wrap to a negative wait
		}
		d += time.Duration(rand.Int64N(span))
	}
	return d
}

// later puts the job back for delay, recording it as retrying; attempts is the
// number of attempts that count so far, naks how often the job was put back
// before.
func (r *run) later(ctx context.Context, job *naq.Job, m jetstream.Msg, delay time.Duration, attempts int, errMsg string, naks int) {
	if !r.sh.Conn.IsConnected() {
		// Nothing can be written or put back now: the job returns after the
		// ack wait, and a stop does not wait on a server that is gone.
		r.sh.Logger.Warn("no connection to put the job back; it returns after the ack wait", "job", job.ID)
		return
	}
	now := time.Now().UTC()
	if delay > layout.SafeWait {
		// A wait past the server's horizon would end at once: hold it there.
		delay = layout.CapWait(now, delay)
	}
	st := r.jobs.statusOf(job, naq.StateRetrying)
	// The error is cut as in the final record: a status record over the
	// server's max payload could not be written, and the job would return
	// only after the ack wait, counted as a lost delivery.
	st.Attempts, st.Error, st.NextAttemptAt, st.Naks = attempts, *clip(&errMsg), now.Add(delay), naks+1
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

// putBack returns a delivery the worker will not run (it arrived as the
// worker stopped, or with no slot for it) to its queue, recorded first as a
// deliberate put-back, so it never counts toward the poison rule.
func (r *run) putBack(m jetstream.Msg) {
	defer func() { _ = m.Nak() }()
	job, err := naq.DecodeJob(m.Data())
	if err != nil || !r.sh.Conn.IsConnected() {
		return // not a job (whoever takes it records it), or no server to tell
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := r.jobs.Status(ctx, job.ID)
	if err == nil {
		if st == nil {
			attempts, naks, _ := resumedCounts(m)
			st = r.jobs.statusOf(job, naq.StatePending)
			st.Attempts, st.Naks, st.Error = attempts, naks, "put back unrun by a worker that was stopping"
		}
		st.Naks++
		err = r.jobs.SetStatus(ctx, st)
	}
	if err != nil {
		r.sh.Logger.Warn("could not record a put-back; it counts as a delivery without an answer", "job", job.ID, "err", err)
	}
	r.sh.Logger.Debug("job put back unrun", "job", job.ID, "queue", job.Queue)
	if r.obs != nil {
		r.obs.later(naq.EventPutBack, job, 0, nil, "unrun", 0)
	}
}
