// Package naq is a background-job queue on NATS JetStream: producers enqueue
// named jobs with JSON arguments, workers (package worker) run them. Its wire
// format is Python naq's JSON job format, so Go and Python services can share
// queues.
package naq

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/naqgo/naq/internal/jobctx"
	"github.com/naqgo/naq/internal/layout"
)

// DefaultQueue is the queue used when none is given (Python naq's default).
const DefaultQueue = layout.DefaultQueue

// RetryStrategy shapes the delay between attempts when RetryDelay is a single
// duration.
type RetryStrategy string

// Retry strategies of naq's wire format.
const (
	// Linear waits RetryDelay before every retry.
	Linear RetryStrategy = "linear"
	// Exponential waits RetryDelay × 2^n before retry n (n from 0).
	Exponential RetryStrategy = "exponential"
)

// Job is one unit of work: a name that selects its handler, JSON arguments,
// and the policy that governs its execution. It is naq's wire job.
type Job struct {
	// ID identifies the job. It is the key of its result and status records and
	// the Nats-Msg-Id of its message, so publishing the same id twice within the
	// deduplication window (2 minutes) makes one job.
	ID string
	// Name selects the handler ("function" on the wire; Python writes
	// "module:qualname").
	Name string
	// Args are the positional arguments, Kwargs the keyword arguments, each a
	// raw JSON value. Handlers usually bind them with Bind or a typed handler.
	Args   []json.RawMessage
	Kwargs map[string]json.RawMessage
	// Queue is the queue the job runs on.
	Queue string
	// EnqueuedAt is when the producer created the job.
	EnqueuedAt time.Time
	// MaxRetries is how many times the job is retried after its first attempt.
	MaxRetries int
	// RetryDelay is the wait before a retry: one duration shaped by
	// RetryStrategy, or several, one per retry, the last one repeating.
	RetryDelay    []time.Duration
	RetryStrategy RetryStrategy
	// RetryOn lists the error kinds that may be retried (nil: all);
	// IgnoreOn the kinds never retried. See ErrorKind.
	RetryOn  []string
	IgnoreOn []string
	// DependsOn lists jobs that must complete before this one runs.
	DependsOn []string
	// ResultTTL is how long the result is kept (0: the default, 7 days).
	ResultTTL time.Duration
	// Timeout bounds one attempt (0: no limit).
	Timeout time.Duration
	// Flow holds the job's flow control (see Unique and RateKey); nil for a
	// job without any, so plain jobs carry none of it.
	Flow *FlowControl
	// Workflow ties the job to the workflow it is a step of (see
	// EnqueueWorkflow); nil for a job outside any.
	Workflow *WorkflowLink

	// Attempt is the 1-based number of the current attempt. Workers set it; it
	// is not part of the wire format.
	Attempt int
	// Duplicate is set by Enqueue, EnqueueJob, EnqueueAt and EnqueueJobAt when
	// the server already held a job with this ID from the last two minutes:
	// nothing new was enqueued, and this job's arguments and options were
	// discarded. It is not part of the wire format. EnqueueMany does not set
	// it: its jobs are pipelined, and a duplicate is stored as nothing.
	Duplicate bool

	oneDelay [1]time.Duration // RetryDelay's array when it holds one delay
}

// FlowControl is a job's flow control: its unique lock and its rate key.
type FlowControl struct {
	// UniqueKey is the key of a unique job's lock in naq_unique (a hash the
	// client makes; "" for a job that is not unique), UniqueScope when a
	// worker releases it. See Unique.
	UniqueKey   string
	UniqueScope UniqueScope
	// RateKey names the rate limit the job's starts count against (see
	// RateKey and the worker's WithRateLimit); "" for none.
	RateKey string

	unique *uniqueSpec // what Unique asked for, until the enqueue
}

// flow returns j's flow control, made on first use.
func (j *Job) flow() *FlowControl {
	if j.Flow == nil {
		j.Flow = &FlowControl{}
	}
	return j.Flow
}

// uniqueAsked is what Unique asked for, nil when it was not.
func (j *Job) uniqueAsked() *uniqueSpec {
	if j.Flow == nil {
		return nil
	}
	return j.Flow.unique
}

// RetryDelayFor returns the wait before retry n (n = 0 for the first retry).
func (j *Job) RetryDelayFor(n int) time.Duration {
	if n < 0 {
		n = 0
	}
	switch len(j.RetryDelay) {
	case 0:
		return 0
	case 1:
		d := j.RetryDelay[0]
		if j.RetryStrategy == Exponential {
			f := float64(d) * math.Pow(2, float64(n))
			if f > float64(math.MaxInt64) {
				return time.Duration(math.MaxInt64)
			}
			return time.Duration(f)
		}
		return d
	default:
		return j.RetryDelay[min(n, len(j.RetryDelay)-1)]
	}
}

// Bind decodes the job's arguments into v by this rule:
//   - no positional arguments: the keyword arguments, as one JSON object
//     ({} when there are none);
//   - exactly one positional argument and no keyword arguments: that argument;
//   - several positional arguments and no keyword arguments: the array of them;
//   - positional and keyword arguments together: an error (read Args and
//     Kwargs directly).
func (j *Job) Bind(v any) error {
	var raw []byte
	var err error
	// The arguments' JSON is built here rather than by marshalling Kwargs or
	// Args, which cost a typed handler measurably (docs/benchmarks.md).
	switch {
	case len(j.Args) == 0:
		raw, err = j.appendKwargs(make([]byte, 0, j.argumentsSize()))
	case len(j.Kwargs) > 0:
		return fmt.Errorf("%w: job %s has both positional and keyword arguments; read Job.Args and Job.Kwargs instead", ErrBind, j.ID)
	case len(j.Args) == 1:
		raw = j.Args[0]
	default:
		raw, err = j.appendArgs(make([]byte, 0, j.argumentsSize()))
	}
	if err != nil {
		return fmt.Errorf("%w: job %s: %w", ErrBind, j.ID, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: job %s: %v", ErrBind, j.ID, err)
	}
	return nil
}

// JobFromContext returns the job a handler is running, or nil. (A test that
// calls a handler directly gets such a context from naqtest.JobContext.)
func JobFromContext(ctx context.Context) *Job {
	j, _ := jobctx.From(ctx).(*Job)
	return j
}
