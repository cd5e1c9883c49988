package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// ioTimeout bounds the bookkeeping writes around one job.
const ioTimeout = 30 * time.Second

// errShutdown cancels handlers when the shutdown timeout is reached.
var errShutdown = errors.New("worker shutting down")

// process runs one delivered message to its end: decode, dependency check,
// handler, then result (and failure record) stored before the ack, or a
// delayed redelivery for a retry.
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
	ioCtx, cancelIO := context.WithTimeout(context.WithoutCancel(r.jobsCtx), ioTimeout)
	defer cancelIO()
	job.Attempt = r.attemptOf(ioCtx, job, md)
	if len(job.DependsOn) > 0 && !r.dependenciesMet(ioCtx, job, m, md) {
		return
	}

	hctx, cancel := context.WithCancelCause(r.jobsCtx)
	defer cancel(nil)
	if job.Timeout > 0 {
		var cancelT context.CancelFunc
		hctx, cancelT = context.WithTimeout(hctx, job.Timeout)
		defer cancelT()
	}
	hctx = naq.WithJob(hctx, job)
	started := time.Now().UTC()
	seq := md.Sequence.Stream
	r.inflight.add(seq, &running{job: job, msg: m, started: started, touched: started, cancel: cancel})
	value, herr, traceback := r.call(hctx, job)
	hasRecord := r.inflight.remove(seq)

	if herr != nil && r.jobsCtx.Err() != nil {
		// Forced shutdown: put the job back at once, its attempt not counted.
		_ = m.Nak()
		return
	}
	if herr == nil && job.Timeout > 0 && errors.Is(hctx.Err(), context.DeadlineExceeded) {
		herr = context.DeadlineExceeded // finished, but past its deadline
	}
	if herr != nil && errors.Is(herr, context.DeadlineExceeded) && job.Timeout > 0 && hctx.Err() != nil {
		herr = &Error{Kind: KindTimeout, Err: fmt.Errorf("job timed out after %s", job.Timeout)}
	}
	var snooze *SnoozeError
	switch {
	case errors.As(herr, &snooze):
		r.later(ioCtx, job, m, snooze.Delay, job.Attempt-1, "")
		return
	case herr != nil && r.shouldRetry(job, herr):
		r.later(ioCtx, job, m, job.RetryDelayFor(job.Attempt-1), job.Attempt, herr.Error())
		return
	}
	res := &naq.Result{
		Status: naq.StateCompleted, JobID: job.ID, Name: job.Name, Queue: job.Queue, Attempts: job.Attempt,
		WorkerID: r.sh.Identity.ID, EnqueuedAt: job.EnqueuedAt, StartedAt: started, FinishedAt: time.Now().UTC(),
	}
	if herr == nil {
		if res.Value, err = json.Marshal(value); err != nil {
			herr = SkipRetry(fmt.Errorf("result of type %T does not marshal to JSON: %w", value, err))
		}
	}
	if herr != nil {
		msg := herr.Error()
		res.Status, res.Value, res.Error, res.ErrorKind = naq.StateFailed, nil, &msg, ErrorKind(herr)
		if traceback != "" {
			res.Traceback = &traceback
		}
	}
	r.finish(ioCtx, job, m, md, res, hasRecord || job.Attempt > 1)
}

// call runs the handler, turning a panic into an error with the stack as its
// traceback.
func (r *run) call(ctx context.Context, job *naq.Job) (value any, err error, traceback string) {
	defer func() {
		if p := recover(); p != nil {
			traceback = string(debug.Stack())
			err = SkipRetry(&Error{Kind: KindPanic, Err: fmt.Errorf("panic: %v", p)})
			value = nil
		}
	}()
	value, err = r.w.mux.ProcessJob(ctx, job)
	return value, err, ""
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
// number of attempts that count so far.
func (r *run) later(ctx context.Context, job *naq.Job, m jetstream.Msg, delay time.Duration, attempts int, errMsg string) {
	st := r.statusOf(job, naq.StateRetrying)
	st.Attempts, st.Error, st.NextAttemptAt = attempts, errMsg, time.Now().UTC().Add(delay)
	if err := r.jobs.SetStatus(ctx, st); err != nil {
		r.sh.Logger.Warn("status write failed", "job", job.ID, "err", err)
	}
	if err := m.NakWithDelay(delay); err != nil {
		r.sh.Logger.Warn("nak failed; the job returns after the ack wait", "job", job.ID, "err", err)
	}
}

// finish stores the result (and, for a failure, the failed-job record and a
// terminal status) and acknowledges the job only once they are stored.
func (r *run) finish(ctx context.Context, job *naq.Job, m jetstream.Msg, md *jetstream.MsgMetadata, res *naq.Result, writeStatus bool) {
	futures := make([]jetstream.PubAckFuture, 0, 3)
	add := func(f jetstream.PubAckFuture, err error) error {
		if err == nil {
			futures = append(futures, f)
		}
		return err
	}
	err := add(r.jobs.PublishResult(job, res))
	if err == nil && res.Status == naq.StateFailed {
		rec := &naq.FailedJob{
			JobID: job.ID, Name: job.Name, Queue: job.Queue, Error: deref(res.Error), ErrorKind: res.ErrorKind,
			Traceback: deref(res.Traceback), Attempts: job.Attempt, MaxRetries: job.MaxRetries,
			EnqueuedAt: job.EnqueuedAt, FailedAt: res.FinishedAt, Job: m.Data(), Subject: m.Subject(),
			StreamSeq: md.Sequence.Stream,
		}
		err = add(r.failed.Publish(rec))
	}
	if err == nil && writeStatus {
		st := naq.StatusFromResult(res)
		st.MaxRetries = job.MaxRetries
		err = add(r.jobs.PublishStatus(st))
	}
	for _, f := range futures {
		if err != nil {
			break
		}
		err = awaitAck(ctx, f)
	}
	if err != nil {
		r.sh.Logger.Error("could not store the job's result; it will run again", "job", job.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := m.Ack(); err != nil {
		r.sh.Logger.Warn("ack failed; the job may run again", "job", job.ID, "err", err)
	}
	r.processed.Add(1)
	if res.Status == naq.StateFailed {
		r.failedCount.Add(1)
		r.sh.Logger.Info("job failed", "job", job.ID, "name", job.Name, "attempts", job.Attempt, "err", deref(res.Error))
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

// attemptOf numbers this attempt. A first delivery is attempt 1; a redelivery
// continues from the job's status record, so snoozes, dependency waits and
// lost acks do not use up retries.
func (r *run) attemptOf(ctx context.Context, job *naq.Job, md *jetstream.MsgMetadata) int {
	if md.NumDelivered <= 1 {
		return 1
	}
	st, err := r.jobs.Status(ctx, job.ID)
	if err != nil || st == nil {
		return 1
	}
	// A running record means the attempt before was cut short (a crash): it
	// counts, like a failure.
	return st.Attempts + 1
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
