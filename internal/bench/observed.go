package bench

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/naqotel"
	"github.com/naqgo/naq/worker"
)

// naqProcessObserved enqueues N jobs with trace context and events (not
// timed), then times naqProcess with events, metrics and tracing on. The
// tracer provider samples every span and exports none: the cost measured is
// naq's and the SDK's, not an exporter's.
func (e *env) naqProcessObserved(ctx context.Context) (run, error) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	c, err := naq.NewClient(ctx, e.client.Conn(), naq.WithDefaultQueue(queue), naq.WithLogger(e.logger),
		naq.WithEvents(), naqotel.ClientOption(naqotel.WithTracerProvider(tp)))
	if err != nil {
		return run{}, err
	}
	defer c.Close()
	jobs := make([]*naq.Job, e.cfg.Jobs)
	for i := range jobs {
		if jobs[i], err = naq.NewJob(jobName, sampleArgs); err != nil {
			return run{}, err
		}
	}
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		return run{}, err
	}
	if err := e.expect(ctx, e.jobs, len(jobs)); err != nil {
		return run{}, err
	}
	opts := append(naqotel.WorkerOptions(naqotel.WithTracerProvider(tp)),
		worker.WithEvents(), worker.WithMetrics(prometheus.NewRegistry()))
	return e.naqProcessWith(ctx, opts...)
}
