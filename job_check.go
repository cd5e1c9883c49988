package naq

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/naqgo/naq/internal/layout"
)

// checkFields refuses what a worker would refuse to decode: the options
// check each field they set, but a caller may set a Job's fields directly,
// and a job stored with such a field would never run (workers file it as
// malformed).
func (j *Job) checkFields() error {
	if j.MaxRetries < 0 {
		return fmt.Errorf("%w: job %s: max retries %d must not be negative", ErrInvalidJob, j.ID, j.MaxRetries)
	}
	for _, d := range j.RetryDelay {
		if d < 0 {
			return fmt.Errorf("%w: job %s: retry delay %s must not be negative", ErrInvalidJob, j.ID, d)
		}
	}
	if s := j.RetryStrategy; s != "" && s != Linear && s != Exponential {
		if _, err := ParseRetryStrategy(string(j.RetryStrategy)); err != nil {
			return fmt.Errorf("%w: job %s: %v", ErrInvalidJob, j.ID, err)
		}
	}
	if j.ResultTTL < 0 || j.ResultTTL > 0 && j.ResultTTL < time.Second {
		return fmt.Errorf("%w: job %s: result TTL %s must be 0 (the default) or at least one second", ErrInvalidJob, j.ID, j.ResultTTL)
	}
	if j.Timeout < 0 {
		return fmt.Errorf("%w: job %s: timeout %s must not be negative", ErrInvalidJob, j.ID, j.Timeout)
	}
	if !j.EnqueuedAt.IsZero() {
		if s := j.EnqueuedAt.Unix(); s < 0 || s > maxUnixTime {
			return fmt.Errorf("%w: job %s: enqueue time %s must be from 1970 to the year 9999", ErrInvalidJob, j.ID, j.EnqueuedAt)
		}
	}
	for _, dep := range j.DependsOn {
		if err := layout.ValidateJobID(dep); err != nil {
			return fmt.Errorf("%w: job %s depends on: %v", ErrInvalidJob, j.ID, err)
		}
		if dep == j.ID {
			return fmt.Errorf("%w: job %s depends on itself, so it would never run", ErrInvalidJob, j.ID)
		}
	}
	for _, kinds := range [2][]string{j.RetryOn, j.IgnoreOn} {
		for _, k := range kinds {
			if !utf8.ValidString(k) {
				return fmt.Errorf("%w: job %s: error kind %q is not valid UTF-8", ErrInvalidJob, j.ID, k)
			}
		}
	}
	if f := j.Flow; f != nil {
		if err := f.check(); err != nil {
			return fmt.Errorf("%w: job %s: %v", ErrInvalidJob, j.ID, err)
		}
	}
	if w := j.Workflow; w != nil && w.ID != "" {
		if err := layout.ValidateJobID(w.ID); err != nil {
			return fmt.Errorf("%w: job %s: workflow %v", ErrInvalidJob, j.ID, err)
		}
	}
	return nil
}

// check refuses flow-control fields a worker would refuse.
func (f *FlowControl) check() error {
	if f.UniqueKey != "" {
		if err := layout.ValidateKVKey(f.UniqueKey); err != nil {
			return fmt.Errorf("unique key: %v", err)
		}
		switch f.UniqueScope {
		case UniquePending, UniqueActive, UniquePeriod:
		default:
			return fmt.Errorf("unique scope %q: want %q, %q or %q (use Unique to make a job unique)",
				f.UniqueScope, UniquePending, UniqueActive, UniquePeriod)
		}
	}
	if f.RateKey != "" {
		if err := layout.ValidateKVKey(f.RateKey); err != nil {
			return fmt.Errorf("rate key: %v", err)
		}
	}
	return nil
}
