package naq

import (
	"fmt"

	"github.com/naqgo/naq/internal/layout"
)

// RateKey makes the job's starts count against the rate limit named key, which
// workers enforce across all of them (see worker.WithRateLimit): a job over the
// limit waits for the next window without using a retry. Jobs with the same
// key share the limit whatever their name or queue. key is made of letters,
// digits, '_', '-' and '='.
func RateKey(key string) EnqueueOption {
	return func(j *Job) error {
		if err := ValidateRateKey(key); err != nil {
			return err
		}
		j.flow().RateKey = key
		return nil
	}
}

// ValidateRateKey reports whether key can name a rate limit.
func ValidateRateKey(key string) error {
	if err := layout.ValidateKVKey(key); err != nil {
		return fmt.Errorf("%w: rate key: %v", ErrInvalidJob, err)
	}
	return nil
}
