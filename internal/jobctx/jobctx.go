// Package jobctx carries the running job in a handler's context. It is
// internal so only workers (and naqtest) put a job there; handlers read it
// with naq.JobFromContext.
package jobctx

import "context"

type key struct{}

type headerKey struct{}

// With returns a context that carries job.
func With(ctx context.Context, job any) context.Context { return context.WithValue(ctx, key{}, job) }

// WithHeader returns a context that carries job and the headers of the
// message that brought it, in one value.
func WithHeader(ctx context.Context, job, header any) context.Context {
	return &Ctx{Context: ctx, job: job, header: header}
}

// From returns the job ctx carries, or nil.
func From(ctx context.Context) any { return ctx.Value(key{}) }

// Header returns the message headers ctx carries, or nil.
func Header(ctx context.Context) any { return ctx.Value(headerKey{}) }

// Ctx is a context that carries a job and its message's headers (nil for
// none). A worker keeps one inside each job's own allocation, set with Set,
// so the job costs no context allocation of its own.
type Ctx struct {
	context.Context
	job, header any
}

// Set makes c carry job and header over parent.
func (c *Ctx) Set(parent context.Context, job, header any) {
	*c = Ctx{Context: parent, job: job, header: header}
}

func (c *Ctx) Value(k any) any {
	switch k.(type) {
	case key:
		return c.job
	case headerKey:
		return c.header
	}
	return c.Context.Value(k)
}

// Reporter takes a running job's progress: a worker puts one in the context
// its handlers run under.
type Reporter interface {
	Progress(job any, fraction float64, message string)
}

type reporterKey struct{}

// WithReporter returns a context whose handlers report progress to r.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

// ReporterFrom returns the reporter ctx carries, or nil.
func ReporterFrom(ctx context.Context) Reporter {
	r, _ := ctx.Value(reporterKey{}).(Reporter)
	return r
}
