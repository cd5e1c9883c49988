package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// ioTimeout bounds a result write; reads and other writes take the JetStream
// default timeout (5 s).
const ioTimeout = 30 * time.Second

// process runs one delivered message to its end: decode, dependency check,
// handler, then result (and failure record) stored before the ack, or a
// delayed redelivery for a retry. The caller releases the job's slot when it
// returns: by then the job is put back, or its writes are sent and its ack
// waits only for their answer.
func (r *run) process(m jetstream.Msg) {
	log := r.sh.Logger
	md, err := m.Metadata()
	if err != nil {
		log.Error("message without metadata; redelivering", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	job, err := naq.DecodeJob(m.Data())
	if err != nil {
		r.malformed(m, err)
		return
	}
	ioCtx := r.ioCtx
	job.Attempt = 1
	naks := 0
	attempts, baseNaks, resumed := resumedCounts(m)
	if resumed { // back from a long wait
		job.Attempt = attempts + 1
	}
	if md.NumDelivered > 1 || resumed {
		var handled bool
		if naks, handled = r.redelivered(ioCtx, job, m, md, baseNaks); handled {
			return
		}
	}
	if r.cancelled.has(job.ID) {
		r.dropCancelled(ioCtx, job, m, md)
		return
	}
	if len(job.DependsOn) > 0 {
		if !r.dependenciesMet(ioCtx, job, m, md, naks) {
			return
		}
	}

	hctx, cancel := context.WithCancelCause(r.jobsBase)
	defer cancel(nil)
	if job.Timeout > 0 {
		var cancelT context.CancelFunc
		hctx, cancelT = context.WithTimeout(hctx, job.Timeout)
		defer cancelT()
	}
	hctx = naq.WithJob(hctx, job)
	started := time.Now().UTC()
	seq := md.Sequence.Stream
	r.inflight.add(seq, &running{job: job, msg: m, started: started, touched: started, cancel: cancel, naks: naks})
	if r.cancelled.has(job.ID) { // cancelled while its dependencies were checked
		cancel(naq.ErrCancelled)
	}
	if r.jobsCtx.Err() != nil { // forced shutdown began before the add
		cancel(context.Canceled)
	}
	value, traceback, herr := r.call(hctx, job)
	hasRecord := r.inflight.remove(seq)

	if herr != nil && r.jobsCtx.Err() != nil {
		// Forced shutdown: put the job back at once, its attempt not counted.
		r.later(ioCtx, job, m, 0, job.Attempt-1, "worker shut down while running it", naks)
		return
	}
	if cause := context.Cause(hctx); errors.Is(cause, naq.ErrCancelled) {
		herr = SkipRetry(&Error{Kind: KindCancelled, Err: fmt.Errorf("job cancelled while running")})
	}
	if herr == nil && job.Timeout > 0 && errors.Is(hctx.Err(), context.DeadlineExceeded) {
		herr = context.DeadlineExceeded // finished, but past its deadline
	}
	if herr != nil && errors.Is(herr, context.DeadlineExceeded) && job.Timeout > 0 && hctx.Err() != nil {
		herr = &Error{Kind: KindTimeout, Err: fmt.Errorf("job timed out after %s", job.Timeout)}
	}
	switch snooze := asSnooze(herr); {
	case snooze != nil:
		r.later(ioCtx, job, m, snooze.Delay, job.Attempt-1, "", naks)
		return
	case herr != nil && r.shouldRetry(job, herr):
		r.later(ioCtx, job, m, max(r.retryDelay(job), retryFloor(herr)), job.Attempt, herr.Error(), naks)
		return
	}
	res := &naq.Result{
		Status: naq.StateCompleted, JobID: job.ID, Name: job.Name, Queue: job.Queue, Attempts: job.Attempt,
		WorkerID: r.sh.Identity.ID, EnqueuedAt: job.EnqueuedAt, StartedAt: started, FinishedAt: time.Now().UTC(),
	}
	if herr == nil {
		if res.Value, err = marshalResult(value); err != nil {
			herr = SkipRetry(fmt.Errorf("result of type %T does not marshal to JSON: %w", value, err))
		}
	}
	if herr != nil {
		msg := herr.Error()
		res.Status, res.Value, res.Error, res.ErrorKind = naq.StateFailed, nil, &msg, ErrorKind(herr)
		if res.ErrorKind == KindCancelled {
			res.Status = naq.StateCancelled
		}
		if traceback != "" {
			tb := traceback // its own variable: only a panic puts it on the heap
			res.Traceback = &tb
		}
	}
	r.finish(ioCtx, job, m, md, res, hasRecord || job.Attempt > 1)
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

// call runs the handler, turning a panic into an error with the stack as its
// traceback.
func (r *run) call(ctx context.Context, job *naq.Job) (value any, traceback string, err error) {
	defer func() {
		if p := recover(); p != nil {
			traceback = string(debug.Stack())
			err = SkipRetry(&Error{Kind: KindPanic, Err: fmt.Errorf("panic: %v", p)})
			value = nil
		}
	}()
	value, err = r.w.mux.ProcessJob(ctx, job)
	return value, "", err
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

// later puts the job back for delay, recording it as retrying; attempts is the
// number of attempts that count so far, naks how often the job was put back
// before.
func (r *run) later(ctx context.Context, job *naq.Job, m jetstream.Msg, delay time.Duration, attempts int, errMsg string, naks int) {
	st := r.statusOf(job, naq.StateRetrying)
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
func (r *run) finish(_ context.Context, job *naq.Job, m jetstream.Msg, md *jetstream.MsgMetadata, res *naq.Result, writeStatus bool) {
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
	r.results.Write(r.ioCtx, &f.result, done)
	for _, msg := range extra[:n] {
		r.writer.Write(r.ioCtx, msg, done)
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

// malformed moves a message that is not a valid job to naq_failed_jobs, raw
// bytes and decode error included; it is never dropped and never redelivered
// once recorded.
func (r *run) malformed(m jetstream.Msg, decodeErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := r.failed.PublishMalformed(ctx, m, decodeErr); err != nil {
		r.sh.Logger.Error("could not record a malformed job; retrying later", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	r.sh.Logger.Warn("malformed job moved to the failed-jobs stream", "subject", m.Subject(), "err", decodeErr)
	_ = m.Ack()
	r.failedCount.Add(1)
}

// redelivered handles a message delivered before, or back from a long wait.
// It numbers the attempt from the job's status record (or, once that has
// expired, from the long wait's counts), so snoozes, dependency waits and lost
// acks do not use up retries. It acknowledges a job whose result is already
// stored (its ack was lost), and fails as poison a job that keeps coming back
// without any worker answering for it (a job that kills its worker).
// baseNaks are the put-backs counted before this message. handled reports
// that the message needs nothing more.
func (r *run) redelivered(ctx context.Context, job *naq.Job, m jetstream.Msg, md *jetstream.MsgMetadata, baseNaks int) (naks int, handled bool) {
	if res, err := r.jobs.Result(ctx, job.ID); err == nil && res != nil && res.Status.Terminal() {
		_ = m.Ack()
		return 0, true
	}
	st, err := r.jobs.Status(ctx, job.ID)
	if err != nil {
		r.sh.Logger.Warn("status read failed; retrying", "job", job.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return 0, true
	}
	naks = baseNaks
	if st != nil {
		job.Attempt, naks = max(job.Attempt, st.Attempts+1), max(naks, st.Naks)
	}
	lost := int(md.NumDelivered) - 1 - (naks - baseNaks)
	if lost >= r.sh.Config.MaxLostDeliveries {
		job.Attempt = max(job.Attempt, 1+lost)
		r.failNow(ctx, job, m, md, KindPoison, fmt.Sprintf(
			"delivered %d times without an answer: the worker running it died or lost its connection each time", md.NumDelivered))
		return naks, true
	}
	return naks, false
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
