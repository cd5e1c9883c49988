package worker_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/naqotel"
	"github.com/naqgo/naq/worker"
)

// BenchmarkTracedJob is the tracing middleware's cost per job, through a
// Mux as the worker calls it: extraction from the message headers, one
// consumer span and its attributes, with a provider that exports nothing.
func BenchmarkTracedJob(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	job, err := naq.NewJob("bench:send_welcome_email", map[string]int{"user_id": 1})
	if err != nil {
		b.Fatal(err)
	}
	h := nats.Header{}
	naqotel.EnqueueHook(naqotel.WithTracerProvider(tp))(context.Background(), job, h)(nil)
	mux := worker.NewMux()
	mux.HandleFunc(job.Name, func(context.Context, *naq.Job) (any, error) { return nil, nil })
	mux.Use(naqotel.Middleware(naqotel.WithTracerProvider(tp)))
	b.ReportAllocs()
	for b.Loop() {
		ctx := worker.HandlerContext(context.Background(), job, h)
		if _, err := mux.ProcessJob(ctx, job); err != nil {
			b.Fatal(err)
		}
	}
}
