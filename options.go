package naq

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/naqgo/naq/internal/layout"
)

// Args passes positional arguments: Enqueue(ctx, "tasks:add", naq.Args{1, 2}).
type Args []any

// Kwargs passes keyword arguments: Enqueue(ctx, "mail:send", naq.Kwargs{"to": "ana"}).
type Kwargs map[string]any

// EnqueueOption sets one field of a job at enqueue time.
type EnqueueOption func(*Job) error

// Queue puts the job on queue q (default: the client's default queue).
func Queue(q string) EnqueueOption {
	return func(j *Job) error {
		if err := layout.ValidateQueue(q); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidQueue, err)
		}
		j.Queue = q
		return nil
	}
}

// JobID sets the job's id (default: a new 32-hex-digit id, as Python naq's,
// that sorts by creation time).
func JobID(id string) EnqueueOption {
	return func(j *Job) error {
		if err := layout.ValidateJobID(id); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidJob, err)
		}
		j.ID = id
		return nil
	}
}

// MaxRetries sets how many times a failed job is retried.
func MaxRetries(n int) EnqueueOption {
	return func(j *Job) error {
		if n < 0 {
			return fmt.Errorf("%w: max retries %d must not be negative", ErrInvalidJob, n)
		}
		j.MaxRetries = n
		return nil
	}
}

// RetryDelay sets the wait before each retry: one duration (shaped by the
// retry strategy) or one per retry, the last repeating.
func RetryDelay(d ...time.Duration) EnqueueOption {
	return func(j *Job) error {
		for _, x := range d {
			if x < 0 {
				return fmt.Errorf("%w: retry delay %s must not be negative", ErrInvalidJob, x)
			}
		}
		if len(d) == 0 {
			d = []time.Duration{0}
		}
		j.RetryDelay = append([]time.Duration(nil), d...)
		return nil
	}
}

// WithRetryStrategy sets Linear or Exponential.
func WithRetryStrategy(s RetryStrategy) EnqueueOption {
	return func(j *Job) error {
		p, err := ParseRetryStrategy(string(s))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidJob, err)
		}
		j.RetryStrategy = p
		return nil
	}
}

// RetryOn limits retries to errors of these kinds.
func RetryOn(kinds ...string) EnqueueOption {
	return func(j *Job) error { j.RetryOn = append([]string(nil), kinds...); return nil }
}

// IgnoreOn never retries errors of these kinds.
func IgnoreOn(kinds ...string) EnqueueOption {
	return func(j *Job) error { j.IgnoreOn = append([]string(nil), kinds...); return nil }
}

// Timeout bounds each attempt; the handler's context is cancelled after d.
func Timeout(d time.Duration) EnqueueOption {
	return func(j *Job) error {
		if d < 0 {
			return fmt.Errorf("%w: timeout %s must not be negative", ErrInvalidJob, d)
		}
		j.Timeout = d
		return nil
	}
}

// DependsOn makes the job wait until all the given jobs completed.
func DependsOn(ids ...string) EnqueueOption {
	return func(j *Job) error {
		for _, id := range ids {
			if err := layout.ValidateJobID(id); err != nil {
				return fmt.Errorf("%w: depends on: %v", ErrInvalidJob, err)
			}
		}
		j.DependsOn = append(j.DependsOn, ids...)
		return nil
	}
}

// ResultTTL keeps the job's result for d (at least one second).
func ResultTTL(d time.Duration) EnqueueOption {
	return func(j *Job) error {
		if d < time.Second {
			return fmt.Errorf("%w: result TTL %s is below one second", ErrInvalidJob, d)
		}
		j.ResultTTL = d
		return nil
	}
}

// NewJob builds a job without enqueueing it, for EnqueueJob and EnqueueMany.
// args follows Enqueue's rule.
func NewJob(name string, args any, opts ...EnqueueOption) (*Job, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: the job name must not be empty", ErrInvalidJob)
	}
	j := &Job{
		ID:            newJobID(),
		Name:          name,
		EnqueuedAt:    time.Now().UTC(),
		RetryStrategy: Linear,
		DependsOn:     []string{},
	}
	j.RetryDelay = j.oneDelay[:]
	if err := setArgs(j, args); err != nil {
		return nil, err
	}
	var errs []error
	for _, o := range opts {
		if err := o(j); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return j, nil
}

// newJobID returns a new job id: a version 7 UUID as 32 hex digits, the
// form of Python naq's ids (uuid4().hex). A version 7 UUID starts with the
// time in milliseconds: ids sort by creation, and the keys of results and
// statuses arrive at the server in order, which it stores for less than
// scattered ones.
func newJobID() string {
	u := uuid.Must(uuid.NewV7())
	const hex = "0123456789abcdef"
	var b [32]byte
	for i, c := range u {
		b[i*2], b[i*2+1] = hex[c>>4], hex[c&0xf]
	}
	return string(b[:])
}
