package naqtest

import (
	"context"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/jobctx"
)

// JobContext returns a context that carries job, as a worker's handler
// context does, for a test that calls a handler directly: in the handler,
// naq.JobFromContext returns job.
func JobContext(ctx context.Context, job *naq.Job) context.Context {
	return jobctx.With(ctx, job)
}
