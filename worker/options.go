package worker

import (
	"log/slog"
	"time"
)

type options struct {
	cfg      Config
	logger   *slog.Logger
	name     string
	fallback Handler
}

// Option configures New.
type Option func(*options)

// WithQueues sets the queues to consume, in order.
func WithQueues(queues ...string) Option {
	return func(o *options) { o.cfg.Queues = append([]string(nil), queues...) }
}

// WithConcurrency sets how many jobs run at once.
func WithConcurrency(n int) Option { return func(o *options) { o.cfg.Concurrency = n } }

// WithAckWait sets how long the server waits before redelivering a job whose
// worker went silent.
func WithAckWait(d time.Duration) Option { return func(o *options) { o.cfg.AckWait = d } }

// WithMaxAckPending caps unacknowledged jobs across all workers of a queue.
func WithMaxAckPending(n int) Option { return func(o *options) { o.cfg.MaxAckPending = n } }

// WithHeartbeatInterval sets how often the worker rewrites its record.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(o *options) { o.cfg.HeartbeatInterval = d }
}

// WithShutdownTimeout sets how long running jobs may finish after a stop.
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) { o.cfg.ShutdownTimeout = d }
}

// WithPollWait sets how long an idle queue's pull request waits for a job.
func WithPollWait(d time.Duration) Option { return func(o *options) { o.cfg.PollWait = d } }

// WithReplicas sets the replica count of the streams and buckets the worker
// creates.
func WithReplicas(n int) Option { return func(o *options) { o.cfg.Replicas = n } }

// WithConfig replaces the whole configuration.
func WithConfig(c Config) Option { return func(o *options) { o.cfg = c } }

// WithLogger logs through l (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithName prefixes the worker id (default "naq-worker").
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithFallback runs h for every job whose name has no handler registered (a
// catch-all, for instance one that forwards jobs elsewhere). Without it such
// a job fails without retry: "no handler registered for <name>". Middleware
// wraps h like any other handler.
func WithFallback(h Handler) Option { return func(o *options) { o.fallback = h } }
