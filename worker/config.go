package worker

// Config, a worker's settings, with their defaults and checks. Not here: the
// options that set them (options.go).

import (
	"errors"
	"fmt"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// Config is a worker's configuration. Zero fields take the defaults shown.
type Config struct {
	// Queues to consume (default: naq_default_queue).
	Queues []string
	// Concurrency is how many jobs run at once (default 10). The worker never
	// holds a job it has not started without a free slot for it; a finished
	// job whose result the server has yet to confirm holds none.
	Concurrency int
	// AckWait is how long the server waits for an answer before it redelivers a
	// job (default 60 s). Running jobs are kept alive well within it.
	AckWait time.Duration
	// MaxAckPending caps unacknowledged jobs across all workers of a queue
	// (default 10,000).
	MaxAckPending int
	// HeartbeatInterval is how often the worker rewrites its record (default 15 s).
	HeartbeatInterval time.Duration
	// ShutdownTimeout is how long running jobs may finish after a stop (default 30 s).
	ShutdownTimeout time.Duration
	// PollWait is how long an idle queue's pull request waits for a job (default 5 s).
	PollWait time.Duration
	// DependencyTimeout fails a job whose dependency has not finished this long
	// after the job was enqueued, for instance an id that never appears
	// (default 24 h).
	DependencyTimeout time.Duration
	// MaxLostDeliveries fails a job, as poison, once it has been delivered this
	// many times without any worker answering for it: its worker died or lost
	// its connection each time, as a job that crashes its process does
	// (default 3).
	MaxLostDeliveries int
	// RetryJitter adds up to this fraction of a retry's delay at random, so
	// retries of many jobs that failed together spread out (default 0; 0.1 adds
	// up to 10%).
	RetryJitter float64
	// Replicas of the streams and buckets the worker creates (default: 3 on a
	// cluster of three or more servers, else one per server).
	Replicas int
	// RateLimits cap how many jobs start per period across all workers (see
	// RateLimit).
	RateLimits []RateLimit
	// Priorities weighs the queues: with backlog on every queue, each gets a
	// share of the slots in proportion to its weight (see WithPriorities).
	// Queues defaults to its queues, heaviest first.
	Priorities map[string]int
	// StrictPriority gives a free slot to the heaviest queue that wants one,
	// so a lighter queue runs only while the heavier ones are empty.
	StrictPriority bool
	// MaxRunning caps, per queue, how many of its jobs run at once across all
	// workers (the consumer's max ack pending; see WithMaxRunning).
	MaxRunning map[string]int
	// ResultArgs keeps each job's arguments in its result record (see
	// WithResultArgs).
	ResultArgs bool
}

func (c Config) withDefaults() Config {
	if len(c.Queues) == 0 && len(c.Priorities) > 0 {
		c.Queues = priorityQueues(c.Priorities)
	}
	if len(c.Queues) == 0 {
		c.Queues = []string{naq.DefaultQueueFromEnv()}
	}
	c.Queues = dedupe(c.Queues)
	if c.Concurrency == 0 {
		c.Concurrency = 10
	}
	if c.AckWait == 0 {
		c.AckWait = layout.DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 10000
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.DependencyTimeout == 0 {
		c.DependencyTimeout = 24 * time.Hour
	}
	if c.MaxLostDeliveries == 0 {
		c.MaxLostDeliveries = 3
	}
	if c.PollWait == 0 {
		c.PollWait = 5 * time.Second
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, q := range c.Queues {
		if err := layout.ValidateQueue(q); err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", naq.ErrInvalidQueue, err))
		}
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("worker: concurrency %d must be at least 1", c.Concurrency))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("worker: ack wait %s must be at least 1s", c.AckWait))
	}
	if c.HeartbeatInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("worker: heartbeat interval %s is too short", c.HeartbeatInterval))
	}
	if c.RetryJitter < 0 || c.RetryJitter > 10 {
		errs = append(errs, fmt.Errorf("worker: retry jitter %v must be between 0 and 10", c.RetryJitter))
	}
	errs = append(errs, c.validateFlow()...)
	if c.ShutdownTimeout < 0 || c.PollWait < 0 || c.MaxAckPending < 0 || c.MaxLostDeliveries < 0 || c.DependencyTimeout < 0 {
		errs = append(errs, errors.New("worker: durations and limits must not be negative"))
	}
	return errors.Join(errs...)
}

func dedupe(qs []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}
