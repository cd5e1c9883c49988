// Package naqotel traces naq jobs with OpenTelemetry: a producer span for
// each enqueue, whose W3C trace context (traceparent, tracestate) travels in
// the job message's headers, and a consumer span around each attempt's
// handler that continues the producer's trace. A job that arrives without
// the header (from an older producer, Python naq, or naq enqueue) starts a
// new trace. Programs that do not import this package carry no OTel code.
//
//	c, _ := naq.NewClient(ctx, nc, naqotel.ClientOption())
//	w, _ := worker.New(nc, append(naqotel.WorkerOptions(), worker.WithQueues("emails"))...)
package naqotel

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

const scope = "github.com/naqgo/naq/naqotel"

// Attribute keys set on naq spans.
const (
	AttrJobID    = attribute.Key("naq.job.id")
	AttrQueue    = attribute.Key("naq.queue")
	AttrFunction = attribute.Key("naq.function")
	AttrAttempt  = attribute.Key("naq.job.attempt")
	AttrOutcome  = attribute.Key("naq.job.outcome")
	AttrKind     = attribute.Key("naq.error.kind")
)

type config struct {
	tp   trace.TracerProvider
	prop propagation.TextMapPropagator
}

// Option configures the client hook and the middleware.
type Option func(*config)

// WithTracerProvider uses tp (default: otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithPropagator uses p (default: W3C trace context and baggage).
func WithPropagator(p propagation.TextMapPropagator) Option { return func(c *config) { c.prop = p } }

func newConfig(opts []Option) config {
	c := config{prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	return c
}

// headerCarrier lets a propagator read and write NATS headers. nats.Header
// is case-sensitive; W3C names are lower case, and so are the keys here.
type headerCarrier nats.Header

func (h headerCarrier) Get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Set(k, v string) { h[k] = []string{v} }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// EnqueueHook starts a producer span for each job and injects its context
// into the job's message headers.
func EnqueueHook(opts ...Option) naq.EnqueueHook {
	c := newConfig(opts)
	tracer := c.tp.Tracer(scope)
	return func(ctx context.Context, j *naq.Job, h nats.Header) func(error) {
		ctx, span := tracer.Start(ctx, "naq.enqueue "+j.Name, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(AttrJobID.String(j.ID), AttrQueue.String(j.Queue), AttrFunction.String(j.Name)))
		c.prop.Inject(ctx, headerCarrier(h))
		return func(err error) {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}
}

// ClientOption is naq.WithEnqueueHook(EnqueueHook(opts...)).
func ClientOption(opts ...Option) naq.ClientOption { return naq.WithEnqueueHook(EnqueueHook(opts...)) }

// Middleware runs each attempt's handler in a consumer span that continues
// the trace found in the job's message headers (the worker needs
// worker.WithMessageHeaders; WorkerOptions sets both).
func Middleware(opts ...Option) worker.Middleware {
	c := newConfig(opts)
	tracer := c.tp.Tracer(scope)
	fields := c.prop.Fields()
	// Made once: options passed to Start escape, so a literal would be
	// allocated for every job.
	start := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	var names spanNames
	// The attribute list handed to SetAttributes would escape (the span is
	// an interface) and cost 384 bytes a job; the SDK copies it into the
	// span, so one list serves job after job.
	lists := sync.Pool{New: func() any { return new([6]attribute.KeyValue) }}
	return func(next worker.Handler) worker.Handler {
		return worker.HandlerFunc(func(ctx context.Context, job *naq.Job) (any, error) {
			if h := worker.MessageHeader(ctx); h != nil && carries(h, fields) {
				ctx = c.prop.Extract(ctx, headerCarrier(h))
			}
			ctx, span := tracer.Start(ctx, names.of(job.Name), start...)
			// The attributes go on in one call, once the outcome is known:
			// one allocation of the span's attribute list instead of one at
			// the start and a larger one for the outcome. A sampler sees the
			// span's name (which names the function), not its attributes.
			// Until the handler returns, the outcome is a panic: the worker
			// recovers it outside this middleware.
			outcome, kind := "error", worker.KindPanic
			defer func() {
				if kind == worker.KindPanic {
					span.SetStatus(codes.Error, "panic")
				}
				attrs := lists.Get().(*[6]attribute.KeyValue)
				*attrs = [6]attribute.KeyValue{AttrJobID.String(job.ID), AttrQueue.String(job.Queue),
					AttrFunction.String(job.Name), AttrAttempt.Int(job.Attempt), AttrOutcome.String(outcome)}
				n := 5
				if kind != "" {
					attrs[5], n = AttrKind.String(kind), 6
				}
				span.SetAttributes(attrs[:n]...)
				*attrs = [6]attribute.KeyValue{} // holds no job's strings while pooled
				lists.Put(attrs)
				span.End()
			}()
			v, err := next.ProcessJob(ctx, job)
			outcome, kind = "completed", ""
			switch {
			case err == nil:
			case snoozed(err):
				outcome = "snoozed"
			default:
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
				outcome, kind = "error", worker.ErrorKind(err)
			}
			return v, err
		})
	}
}

// snoozed reports whether err asks for a snooze; its own function, so the
// target errors.As needs is allocated for failures only.
func snoozed(err error) bool {
	var snooze *worker.SnoozeError
	return errors.As(err, &snooze)
}

// carries reports whether h has any of the propagator's fields: a job sent
// without trace context (by Python naq, naq enqueue, a producer without
// tracing) then skips the extraction.
func carries(h nats.Header, fields []string) bool {
	for _, f := range fields {
		if _, ok := h[f]; ok {
			return true
		}
	}
	return false
}

// spanNames keeps each function's span name, built once: handler names are
// few, and the worker's label rule bounds them no further than its handlers.
type spanNames struct {
	mu sync.RWMutex
	m  map[string]string
}

func (s *spanNames) of(function string) string {
	s.mu.RLock()
	n, ok := s.m[function]
	s.mu.RUnlock()
	if ok {
		return n
	}
	n = "naq.process " + function
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	if len(s.m) < maxSpanNames {
		s.m[function] = n
	}
	s.mu.Unlock()
	return n
}

// maxSpanNames bounds the kept names: a producer can send jobs of any name.
const maxSpanNames = 1024

// WorkerOptions are the worker options that trace handlers: the message
// headers in the handler's context, and Middleware.
func WorkerOptions(opts ...Option) []worker.Option {
	return []worker.Option{worker.WithMessageHeaders(), worker.WithMiddleware(Middleware(opts...))}
}
