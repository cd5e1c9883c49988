package worker

// Options of New: each With* sets one Config field or a part that is not
// configuration (logger, handlers, events, metrics). Not here: Config and
// its defaults (config.go).

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// options collects New's options. Field options are kept apart from the base
// configuration so that their effect does not depend on where WithConfig
// stands in the list.
type options struct {
	cfg      Config // the result: base, fields and defaults; set by New
	base     Config
	fields   []func(*Config)
	logger   *slog.Logger
	name     string
	fallback Handler
	events   bool
	metrics  *Metrics
	headers  bool // handler contexts carry the message's headers
	mw       []Middleware
	err      error // an option's error, reported by New
}

// config is the base with every field option applied, in order.
func (o *options) config() Config {
	c := o.base
	for _, set := range o.fields {
		set(&c)
	}
	return c
}

// Option configures New. Options are applied in two steps, whatever their
// order: first the base configuration (the last WithConfig, or the zero
// Config), then every option that sets one field of it (WithQueues,
// WithConcurrency...), in the order given, so that of two options setting
// the same field the later wins. Fields still zero then take their defaults.
type Option func(*options)

func field(set func(*Config)) Option {
	return func(o *options) { o.fields = append(o.fields, set) }
}

// WithConfig sets the base configuration: its fields apply unless a field
// option (WithConcurrency, WithAckWait...) sets the same field, before or after
// it. A later WithConfig replaces an earlier one. It suits a configuration read
// from a file or flags, with a few fields fixed in code.
func WithConfig(c Config) Option { return func(o *options) { o.base = c } }

// WithQueues sets the queues to consume, in order.
func WithQueues(queues ...string) Option {
	queues = append([]string(nil), queues...)
	return field(func(c *Config) { c.Queues = queues })
}

// WithConcurrency sets how many jobs run at once.
func WithConcurrency(n int) Option { return field(func(c *Config) { c.Concurrency = n }) }

// WithAckWait sets how long the server waits before redelivering a job whose
// worker went silent.
func WithAckWait(d time.Duration) Option { return field(func(c *Config) { c.AckWait = d }) }

// WithMaxAckPending caps unacknowledged jobs across all workers of a queue.
func WithMaxAckPending(n int) Option { return field(func(c *Config) { c.MaxAckPending = n }) }

// WithHeartbeatInterval sets how often the worker rewrites its record.
func WithHeartbeatInterval(d time.Duration) Option {
	return field(func(c *Config) { c.HeartbeatInterval = d })
}

// WithShutdownTimeout sets how long running jobs may finish after a stop.
func WithShutdownTimeout(d time.Duration) Option {
	return field(func(c *Config) { c.ShutdownTimeout = d })
}

// WithPollWait sets how long an idle queue's pull request waits for a job.
func WithPollWait(d time.Duration) Option { return field(func(c *Config) { c.PollWait = d }) }

// WithDependencyTimeout fails a job whose dependencies have not finished d
// after it was enqueued.
func WithDependencyTimeout(d time.Duration) Option {
	return field(func(c *Config) { c.DependencyTimeout = d })
}

// WithMaxLostDeliveries fails a job as poison once it has been delivered n
// times without any worker answering for it.
func WithMaxLostDeliveries(n int) Option {
	return field(func(c *Config) { c.MaxLostDeliveries = n })
}

// WithRetryJitter adds up to this fraction of each retry's delay at random
// (0.1 adds up to 10%).
func WithRetryJitter(f float64) Option { return field(func(c *Config) { c.RetryJitter = f }) }

// WithReplicas sets the replica count of the streams and buckets the worker
// creates.
func WithReplicas(n int) Option { return field(func(c *Config) { c.Replicas = n }) }

// WithLogger logs through l (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithName prefixes the worker id (default "naq-worker").
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithFallback runs h for every job whose name has no handler registered (a
// catch-all, for instance one that forwards jobs elsewhere). Without it such
// a job fails without retry: "no handler registered for <name>". Middleware
// wraps h like any other handler.
func WithFallback(h Handler) Option { return func(o *options) { o.fallback = h } }

// WithEvents publishes the worker's lifecycle events (started, completed,
// failed, retry_scheduled...; see naq.Event) as core NATS messages. They
// cost a publish each and are stored only when the naq_events stream
// exists.
func WithEvents() Option { return func(o *options) { o.events = true } }

// WithMetrics registers the worker's Prometheus metrics on reg (see
// docs/observability.md). Workers of one process may share a registry.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) {
		o.metrics, o.err = newMetrics(reg)
	}
}

// WithMessageHeaders gives handlers the headers of their job's message,
// through MessageHeader. It costs a context value per job, so it is off
// unless asked for.
func WithMessageHeaders() Option { return func(o *options) { o.headers = true } }

// WithMiddleware adds middleware around every handler, as Use does.
func WithMiddleware(mw ...Middleware) Option {
	return func(o *options) { o.mw = append(o.mw, mw...) }
}
