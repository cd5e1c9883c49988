package naq

import (
	"errors"
	"fmt"
)

var (
	// ErrJobNotFound: no record of the job (never enqueued, not yet picked up
	// by a worker, or expired).
	ErrJobNotFound = errors.New("naq: job not found")
	// ErrResultNotReady: the job exists but has not finished.
	ErrResultNotReady = errors.New("naq: job has not finished")
	// ErrInvalidQueue: a queue name that cannot be a subject token.
	ErrInvalidQueue = errors.New("naq: invalid queue name")
	// ErrInvalidJob: a job that cannot be enqueued (bad id, name or option).
	ErrInvalidJob = errors.New("naq: invalid job")
	// ErrInvalidArgs: arguments that do not marshal to JSON.
	ErrInvalidArgs = errors.New("naq: invalid job arguments")
	// ErrPayloadTooLarge: the encoded job exceeds the server's max payload.
	ErrPayloadTooLarge = errors.New("naq: job payload too large")
	// ErrMalformedJob: bytes that are not a valid naq JSON job.
	ErrMalformedJob = errors.New("naq: malformed job")
	// ErrBind: job arguments that do not fit the handler's argument type.
	ErrBind = errors.New("naq: cannot bind job arguments")
	// ErrCancelled is the cause a cancelled job's handler context carries.
	ErrCancelled = errors.New("naq: job cancelled")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("naq: client closed")
	// ErrInvalidRequest: an argument no call could accept (a negative limit,
	// an unknown event type); the error says which and what it wants.
	ErrInvalidRequest = errors.New("naq: invalid request")
)

// JobFailedError is returned by Result.Err and Wait for a job that failed.
type JobFailedError struct {
	JobID     string
	Message   string
	Kind      string
	Traceback string
	Attempts  int
}

func (e *JobFailedError) Error() string {
	if e.Attempts == 0 { // a record that does not count them (Python naq's)
		return fmt.Sprintf("job %s failed: %s", e.JobID, e.Message)
	}
	return fmt.Sprintf("job %s failed after %d attempt(s): %s", e.JobID, e.Attempts, e.Message)
}
