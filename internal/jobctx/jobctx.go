// Package jobctx carries the running job in a handler's context. It is
// internal so only workers (and naqtest) put a job there; handlers read it
// with naq.JobFromContext.
package jobctx

import "context"

type key struct{}

// With returns a context that carries job.
func With(ctx context.Context, job any) context.Context { return context.WithValue(ctx, key{}, job) }

// From returns the job ctx carries, or nil.
func From(ctx context.Context) any { return ctx.Value(key{}) }
