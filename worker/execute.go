package worker

// The second step of a delivered job: its handler run under its timeout and
// cancellation, a panic caught. Not here: admitting it (admit.go) or
// settling the outcome (settle.go).

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/naqgo/naq"
)

// outcome is what running a job came to.
type outcome struct {
	value     any
	traceback string // a panic's stack
	err       error
	started   time.Time
	// hasRecord: a running status record was written for this attempt.
	hasRecord bool
	// unrun: the job ended without running, for err (see admit).
	unrun bool
}

// execute runs the job's handler under its timeout, registered in inflight
// so keepalives, cancellation and a forced shutdown reach it. A cancellation
// or a timeout while it ran becomes the outcome's error, whatever the
// handler returned.
func (r *run) execute(d *delivery) outcome {
	job := d.job
	var header any
	if r.w.opts.headers {
		header = d.msg.Headers()
	}
	d.ctx.Set(r.base, job, header)
	hctx, cancel := context.WithCancelCause(&d.ctx)
	defer cancel(nil)
	if job.Timeout > 0 {
		var cancelT context.CancelFunc
		hctx, cancelT = context.WithTimeout(hctx, job.Timeout)
		defer cancelT()
	}
	if d.deps != nil {
		hctx = naq.WithDependencyResults(hctx, *d.deps)
	}
	o := outcome{started: time.Now().UTC()}
	seq := d.md.Sequence.Stream
	d.running = running{job: job, msg: d.msg, started: o.started, touched: o.started, cancel: cancel, naks: int32(d.naks)}
	r.inflight.add(seq, &d.running)
	if r.cancelled.has(job.ID) { // cancelled while it was admitted
		cancel(naq.ErrCancelled)
	}
	if r.forced.Load() { // forced shutdown began before the add
		cancel(context.Canceled)
	}
	if r.obs != nil {
		r.obs.started(job)
	}
	o.value, o.traceback, o.err = r.call(hctx, job)
	o.hasRecord = r.inflight.remove(seq)
	if r.progress.on.Load() && r.progressEnd(job) {
		o.hasRecord = true
	}
	if r.obs != nil {
		r.obs.ran(job, time.Since(o.started))
	}

	if cause := context.Cause(hctx); errors.Is(cause, naq.ErrCancelled) {
		o.err = SkipRetry(&Error{Kind: KindCancelled, Err: fmt.Errorf("job cancelled while running")})
	}
	if o.err == nil && job.Timeout > 0 && errors.Is(hctx.Err(), context.DeadlineExceeded) {
		o.err = context.DeadlineExceeded // finished, but past its deadline
	}
	if o.err != nil && errors.Is(o.err, context.DeadlineExceeded) && job.Timeout > 0 && hctx.Err() != nil {
		o.err = &Error{Kind: KindTimeout, Err: fmt.Errorf("job timed out after %s", job.Timeout)}
	}
	return o
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
