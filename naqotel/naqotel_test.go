package naqotel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/naqotel"
	"github.com/naqgo/naq/worker"
)

func TestProducerAndConsumerSpansShareATrace(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	traced, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()), naqotel.ClientOption(naqotel.WithTracerProvider(tp)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	opts := append(naqotel.WorkerOptions(naqotel.WithTracerProvider(tp)),
		worker.WithLogger(testutil.Logger()), worker.WithPollWait(200*time.Millisecond))
	w, err := worker.New(nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("greet", func(ctx context.Context, job *naq.Job) (any, error) {
		if job.Attempt == 1 {
			return nil, errors.New("not yet")
		}
		// The handler's context carries the consumer span.
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return nil, errors.New("no span in the handler's context")
		}
		return "hi", nil
	})
	workertest.Run(t, w)

	// A caller's own span is the parent of the enqueue's.
	rootCtx, root := tp.Tracer("test").Start(ctx, "request")
	j, err := traced.Enqueue(rootCtx, "greet", nil, naq.MaxRetries(1), naq.RetryDelay(10*time.Millisecond))
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	if res, err := traced.Wait(ctx, j.ID); err != nil || res.Status != naq.StateCompleted {
		t.Fatalf("result %+v, %v", res, err)
	}
	untraced, err := plain.Enqueue(ctx, "greet", nil, naq.MaxRetries(1), naq.RetryDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Wait(ctx, untraced.ID); err != nil {
		t.Fatal(err)
	}

	var producer, consumers, loose []sdktrace.ReadOnlySpan
	testutil.Eventually(t, 10*time.Second, "the spans", func() bool {
		producer, consumers, loose = nil, nil, nil
		for _, s := range exp.GetSpans().Snapshots() {
			id := ""
			for _, a := range s.Attributes() {
				if a.Key == naqotel.AttrJobID {
					id = a.Value.AsString()
				}
			}
			switch {
			case s.SpanKind() == trace.SpanKindProducer && id == j.ID:
				producer = append(producer, s)
			case s.SpanKind() == trace.SpanKindConsumer && id == j.ID:
				consumers = append(consumers, s)
			case s.SpanKind() == trace.SpanKindConsumer && id == untraced.ID:
				loose = append(loose, s)
			}
		}
		return len(producer) == 1 && len(consumers) == 2 && len(loose) == 2
	})
	p := producer[0]
	if p.Parent().SpanID() != root.SpanContext().SpanID() || p.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Errorf("the enqueue span is not the request's child")
	}
	for _, c := range consumers {
		if c.SpanContext().TraceID() != p.SpanContext().TraceID() || c.Parent().SpanID() != p.SpanContext().SpanID() {
			t.Errorf("consumer span %s is not the producer span's child", c.Name())
		}
	}
	outcomes := map[string]bool{}
	for _, c := range consumers {
		for _, a := range c.Attributes() {
			if a.Key == naqotel.AttrOutcome {
				outcomes[a.Value.AsString()] = true
			}
		}
	}
	if !outcomes["error"] || !outcomes["completed"] {
		t.Errorf("outcomes %v", outcomes)
	}
	// Without the header each attempt starts its own trace.
	for _, c := range loose {
		if c.Parent().IsValid() || !c.SpanContext().IsValid() {
			t.Errorf("an attempt of a job without trace context: parent %v", c.Parent())
		}
	}
	if loose[0].SpanContext().TraceID() == p.SpanContext().TraceID() {
		t.Error("the untraced job joined another trace")
	}
}

// A handler that panics still leaves a complete span: its attributes, the
// outcome error of kind naq:Panic, and an error status.
func TestPanickingHandlerSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	job, err := naq.NewJob("boom", nil)
	if err != nil {
		t.Fatal(err)
	}
	job.Attempt = 1
	mux := worker.NewMux()
	mux.HandleFunc("boom", func(context.Context, *naq.Job) (any, error) { panic("kaboom") })
	mux.Use(naqotel.Middleware(naqotel.WithTracerProvider(tp)))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_, _ = mux.ProcessJob(context.Background(), job)
	}()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	got := map[string]string{}
	for _, a := range spans[0].Attributes {
		got[string(a.Key)] = a.Value.String()
	}
	want := map[string]string{"naq.job.id": job.ID, "naq.function": "boom", "naq.job.attempt": "1",
		"naq.job.outcome": "error", "naq.error.kind": worker.KindPanic}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if spans[0].Status.Code.String() != "Error" {
		t.Errorf("status %v, want Error", spans[0].Status)
	}
}
