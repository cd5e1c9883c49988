package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// Kinds of dependency failures.
const (
	KindDependencyFailed  = "naq:DependencyFailed"
	KindDependencyTimeout = "naq:DependencyTimeout"
	// KindPoison fails a job that keeps coming back without an answer.
	KindPoison = "naq:Poison"
)

// dependenciesMet reports whether job may run now. Otherwise it has already
// dealt with the message: put it back with a growing delay while a dependency
// is unfinished (without using up a retry), or failed it when a dependency
// failed, was cancelled, or never finished in time.
// A failed job's dependents fail in turn, so a failure cascades down a chain.
func (r *run) dependenciesMet(ctx context.Context, job *naq.Job, m jetstream.Msg, md *jetstream.MsgMetadata, naks int) (ready bool) {
	state, dep, err := r.jobs.CheckDependencies(ctx, job)
	if err != nil {
		r.sh.Logger.Warn("dependency check failed; retrying", "job", job.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return false
	}
	switch state {
	case DepsReady:
		return true
	case DepsFailed:
		r.failNow(ctx, job, m, md, KindDependencyFailed, fmt.Sprintf("dependency %s failed or was cancelled", dep))
		return false
	}
	// A job without enqueue_time is dated by its message, which keeps its first
	// store time across redeliveries.
	since := job.EnqueuedAt
	if md.Timestamp.Before(since) {
		since = md.Timestamp
	}
	if time.Since(since) > r.sh.Config.DependencyTimeout {
		r.failNow(ctx, job, m, md, KindDependencyTimeout,
			fmt.Sprintf("dependency %s did not complete within %s", dep, r.sh.Config.DependencyTimeout))
		return false
	}
	// Back off 250 ms, 500 ms, 1 s ... up to 30 s between checks: no spinning.
	shift := min(int(md.NumDelivered)-1, 7)
	delay := min(250*time.Millisecond<<shift, 30*time.Second)
	st := r.statusOf(job, naq.StatePending)
	st.Attempts, st.Error, st.NextAttemptAt, st.Naks = job.Attempt-1, "waiting for dependency "+dep, time.Now().UTC().Add(delay), naks+1
	if err := r.jobs.SetStatus(ctx, st); err != nil {
		r.sh.Logger.Warn("status write failed; the job returns after the ack wait", "job", job.ID, "err", err)
		return false
	}
	_ = m.NakWithDelay(delay)
	return false
}

// failNow fails job without running it.
func (r *run) failNow(ctx context.Context, job *naq.Job, m jetstream.Msg, md *jetstream.MsgMetadata, kind, msg string) {
	now := time.Now().UTC()
	res := &naq.Result{
		Status: naq.StateFailed, Error: &msg, ErrorKind: kind, JobID: job.ID, Name: job.Name, Queue: job.Queue,
		Attempts: job.Attempt - 1, WorkerID: r.sh.Identity.ID, EnqueuedAt: job.EnqueuedAt, FinishedAt: now,
	}
	r.finish(ctx, job, m, md, res, true)
}
