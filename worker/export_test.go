package worker

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/jobctx"
)

// HandlerContext is a handler's context as the worker builds it for job,
// whose message carried h, for benchmarks of middleware.
func HandlerContext(ctx context.Context, job *naq.Job, h nats.Header) context.Context {
	return jobctx.WithHeader(ctx, job, h)
}
