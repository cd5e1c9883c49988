package worker

// A delivered job takes three steps: admit (this file: decode, redelivery,
// cancellation, dependencies), execute (execute.go: the handler) and settle
// (settle.go: result, failed record, status, then the ack or a put-back).

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/jobctx"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker/internal/fetch"
)

// delivery is a job cleared to run: its message, and what its earlier
// deliveries left. It is 760 bytes: with the allocator's 8-byte header it
// fills the 768-byte size class; a field more moves every job to 896.
type delivery struct {
	job  *naq.Job
	msg  jetstream.Msg
	md   *jetstream.MsgMetadata
	naks int // deliberate put-backs before this delivery

	// The job's entry among the running jobs while its handler runs, and
	// its writes and final record once it ended: in the delivery's
	// allocation, one per job instead of four.
	running running
	fin     finishing
	ctx     jobctx.Ctx // the handler's context carries the job from here
	pulled  fetch.Msg  // the message, when the fetcher pulled it into d
	result  naq.Result // the job's final record
	// deps are the results of the job's dependencies, for its handler; a
	// pointer, so a job without any keeps the delivery in its size class.
	deps *[]*naq.Result
}

// process takes one delivered message through its three steps. When it
// returns the job is put back, or its writes are sent and its ack waits only
// for their answer, so its slot can go to the next job.
func (r *run) process(m jetstream.Msg) {
	d, unrun := r.admit(m)
	if d == nil {
		return // dealt with
	}
	o := outcome{err: unrun, unrun: true}
	if unrun == nil {
		if d.job.Flow != nil {
			r.releaseUnique(d.job, naq.UniquePending)
		}
		o = r.execute(d)
	}
	r.settle(d, o)
}

// admit decodes a delivery and decides whether its job runs now (a delivery,
// no error), ends without running (a delivery and why: poison, cancelled, a
// failed dependency), or needs nothing more (nil: a malformed message moved
// to the failed-jobs stream, a finished job's lost ack repeated, a job put
// back to wait for its dependencies).
func (r *run) admit(m jetstream.Msg) (*delivery, error) {
	md, err := m.Metadata()
	if err != nil {
		r.sh.Logger.Error("message without metadata; redelivering", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(time.Second)
		return nil, nil
	}
	job, err := naq.DecodeJobFromSubject(m.Subject(), m.Data())
	if err != nil {
		r.malformed(m, err)
		return nil, nil
	}
	d := deliveryOf(m)
	d.job, d.msg, d.md = job, m, md
	job.Attempt = 1
	attempts, baseNaks, resumed := resumedCounts(m)
	if resumed { // back from a long wait
		job.Attempt = attempts + 1
	}
	if md.NumDelivered > 1 || resumed {
		if goOn, unrun := r.redelivered(r.io, d, baseNaks); !goOn || unrun != nil {
			return deliveryIf(goOn, d), unrun
		}
	} else if r.sinceReconnect(md) && r.finishedBefore(r.io, job, m) {
		return nil, nil
	}
	if r.cancelled.has(job.ID) {
		return d, SkipRetry(&Error{Kind: KindCancelled, Err: fmt.Errorf("job cancelled before it ran")})
	}
	if len(job.DependsOn) > 0 {
		if ready, unrun := r.dependenciesMet(r.io, d); !ready || unrun != nil {
			return deliveryIf(ready, d), unrun
		}
	}
	if r.limits != nil && !r.withinRateLimits(r.io, d) {
		return nil, nil
	}
	return d, nil
}

// recheckAfterReconnect is how long after a reconnect first deliveries of
// jobs stored before it are checked for a result. A server killed before it
// stored its latest acks (and the removals they made) hands their jobs out
// again as first deliveries once it is back. They come first, being the
// oldest it still holds, so a short window catches them, and it bounds the
// reads that a long backlog costs after a reconnect that lost nothing.
const recheckAfterReconnect = 30 * time.Second

// sinceReconnect reports whether a first delivery may be one a restarted
// server handed out again: a job stored before the worker's connection
// came back, delivered soon after.
func (r *run) sinceReconnect(md *jetstream.MsgMetadata) bool {
	n := r.reconnected.Load()
	if n == 0 {
		return false
	}
	back := time.Unix(0, n)
	return md.Timestamp.Before(back) && time.Since(back) < recheckAfterReconnect
}

// finishedBefore acknowledges, and reports, a job whose final result is
// already stored: it ran, and its ack was lost (with the connection, or by a
// server killed before it stored it).
func (r *run) finishedBefore(ctx context.Context, job *naq.Job, m jetstream.Msg) bool {
	res, err := r.jobs.Result(ctx, job.ID)
	if err != nil || res == nil || !res.Status.Terminal() {
		return false // no result, or unreadable now: the job goes on
	}
	r.sh.Logger.Info("job already finished, its ack lost; acknowledged without running it again", "job", job.ID)
	_ = m.Ack()
	return true
}

// newDelivery makes the fetcher pull a message into a new delivery.
func newDelivery() *fetch.Msg {
	d := new(delivery)
	d.pulled.Owner = d
	return &d.pulled
}

// deliveryOf returns the delivery m was pulled into, or a new one.
func deliveryOf(m jetstream.Msg) *delivery {
	if pm, ok := m.(*fetch.Msg); ok {
		if d, ok := pm.Owner.(*delivery); ok {
			return d
		}
	}
	return new(delivery)
}

func deliveryIf(ok bool, d *delivery) *delivery {
	if ok {
		return d
	}
	return nil
}

// redelivered handles a message delivered before, or back from a long wait.
// It numbers the attempt from the job's status record (or, once that has
// expired, from the long wait's counts), so snoozes, dependency waits and lost
// acks do not use up retries. It acknowledges a job whose result is already
// stored (its ack was lost), and fails as poison a job that keeps coming back
// without any worker answering for it (a job that kills its worker).
// baseNaks are the put-backs counted before this message. It reports whether
// the job goes on (to run, or to end without running for the reason given).
func (r *run) redelivered(ctx context.Context, d *delivery, baseNaks int) (goOn bool, unrun error) {
	job, m, md := d.job, d.msg, d.md
	if r.finishedBefore(ctx, job, m) {
		return false, nil
	}
	st, err := r.jobs.Status(ctx, job.ID)
	if err != nil {
		r.sh.Logger.Warn("status read failed; retrying", "job", job.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return false, nil
	}
	d.naks = baseNaks
	if st != nil {
		job.Attempt, d.naks = max(job.Attempt, st.Attempts+1), max(d.naks, st.Naks)
	}
	lost := int(md.NumDelivered) - 1 - (d.naks - baseNaks)
	if lost >= r.sh.Config.MaxLostDeliveries {
		job.Attempt = max(job.Attempt, 1+lost)
		return true, SkipRetry(&Error{Kind: KindPoison, Err: fmt.Errorf(
			"delivered %d times without an answer: the worker running it died or lost its connection each time", md.NumDelivered)})
	}
	return true, nil
}

// dependenciesMet reports whether the job may run now, or must end without
// running (unrun: a dependency failed, was cancelled, or never finished in
// time; a failed job's dependents fail in turn, so a failure cascades down a
// chain). Otherwise it has put the job back with a growing delay while a
// dependency is unfinished, without using up a retry.
// workflowStepMaxWait is the longest a workflow step waits between checks of
// its dependencies.
const workflowStepMaxWait = 2 * time.Second

func (r *run) dependenciesMet(ctx context.Context, d *delivery) (ready bool, unrun error) {
	job, m, md := d.job, d.msg, d.md
	if slices.Contains(job.DependsOn, job.ID) { // from a producer that does not check
		return true, SkipRetry(&Error{Kind: KindDependencyFailed, Err: fmt.Errorf("job depends on itself, so it could never run")})
	}
	state, dep, deps, err := r.jobs.DependencyResults(ctx, job)
	if err != nil {
		r.sh.Logger.Warn("dependency check failed; retrying", "job", job.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return false, nil
	}
	switch state {
	case DepsReady:
		d.deps = &deps
		return true, nil
	case DepsFailed:
		return true, SkipRetry(&Error{Kind: KindDependencyFailed, Err: fmt.Errorf("dependency %s failed or was cancelled", dep)})
	}
	// A job without enqueue_time is dated by its message, which keeps its first
	// store time across redeliveries.
	since := job.EnqueuedAt
	if md.Timestamp.Before(since) {
		since = md.Timestamp
	}
	if limit := r.sh.Config.DependencyTimeout; time.Since(since) > limit {
		return true, SkipRetry(&Error{Kind: KindDependencyTimeout, Err: fmt.Errorf("dependency %s did not complete within %s", dep, limit)})
	}
	// Back off 250 ms, 500 ms, 1 s ... up to 30 s between checks: no spinning.
	// A workflow's step waits at most 2 s, so the steps of a chain follow each
	// other within about that long.
	maxWait := 30 * time.Second
	if job.Workflow != nil {
		maxWait = workflowStepMaxWait
	}
	shift := min(int(md.NumDelivered)-1, 7)
	delay := min(250*time.Millisecond<<shift, maxWait)
	st := r.jobs.statusOf(job, naq.StatePending)
	st.Attempts, st.Error, st.NextAttemptAt, st.Naks = job.Attempt-1, "waiting for dependency "+dep, time.Now().UTC().Add(delay), d.naks+1
	if err := r.jobs.SetStatus(ctx, st); err != nil {
		r.sh.Logger.Warn("status write failed; the job returns after the ack wait", "job", job.ID, "err", err)
		return false, nil
	}
	_ = m.NakWithDelay(delay)
	if md.NumDelivered == 1 {
		r.waiting.add(ctx, r.sh, job)
	}
	return false, nil
}

// malformed moves a message that is not a valid job to naq_failed_jobs, raw
// bytes (or their start, for a message too large to keep whole) and decode
// error included; it is never redelivered once recorded. A write that failed
// for now (no server, no leader) is tried again later; one that can never
// succeed is not tried forever: the message is dropped with a logged error.
func (r *run) malformed(m jetstream.Msg, decodeErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := r.failed.PublishMalformed(ctx, m, decodeErr); err != nil {
		if !tooLarge(err) {
			r.sh.Logger.Error("could not record a malformed job; retrying later", "subject", m.Subject(), "err", err)
			_ = m.NakWithDelay(5 * time.Second)
			return
		}
		r.sh.Logger.Error("malformed job dropped: not even a cut record of it fits the failed-jobs stream; raise the stream's max message size",
			"subject", m.Subject(), "size", len(m.Data()), "start", cut(string(m.Data())), "err", err)
		_ = m.Term()
	} else {
		r.sh.Logger.Warn("malformed job moved to the failed-jobs stream", "subject", m.Subject(), "err", decodeErr)
		_ = m.Ack()
	}
	r.failedCount.Add(1)
	if r.obs != nil {
		r.obs.emit(&naq.Event{Type: naq.EventMalformed, JobID: "malformed", Queue: queueOf(m.Subject()),
			ErrorKind: "malformed", Error: decodeErr.Error()})
	}
}

// resumedCounts reads the counts a long wait's schedule left on the job's
// message; ok is false for a message that did not come from one.
func resumedCounts(m jetstream.Msg) (attempts, naks int, ok bool) {
	h := m.Headers()
	if h == nil {
		return 0, 0, false
	}
	v := h.Get(layout.AttemptsHeader)
	if v == "" { // every job but a resumed one: spare Atoi's error
		return 0, 0, false
	}
	a, err := strconv.Atoi(v)
	if err != nil || a < 0 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(h.Get(layout.NaksHeader))
	if err != nil || n < 0 {
		n = 0
	}
	return a, n, true
}
