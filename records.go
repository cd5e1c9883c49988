package naq

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/naqgo/naq/internal/records"
)

// State is a job's place in its lifecycle; its Terminal method reports
// whether it is a final state (completed, failed or cancelled).
type State = records.State

// Job states. Completed, Failed and Cancelled are terminal.
const (
	StateScheduled State = records.StateScheduled
	StatePending   State = records.StatePending
	StateRunning   State = records.StateRunning
	StateRetrying  State = records.StateRetrying
	StateCompleted State = records.StateCompleted
	StateFailed    State = records.StateFailed
	StateCancelled State = records.StateCancelled
)

// Result and JobStatus have internal/records' Result and Status fields, one
// for one: records encodes, decodes and stores them, and the pointers convert.

// Result is a finished job's record in the naq_results bucket. Its first four
// fields are Python naq's result format; the others are naq-go's additions,
// which Python readers ignore.
type Result struct {
	Status    State           `json:"status"`
	Value     json.RawMessage `json:"result"`
	Error     *string         `json:"error"`
	Traceback *string         `json:"traceback"`

	JobID      string    `json:"job_id,omitempty"`
	Name       string    `json:"function,omitempty"`
	Queue      string    `json:"queue_name,omitempty"`
	ErrorKind  string    `json:"error_kind,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	WorkerID   string    `json:"worker_id,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at,omitzero"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Args and Kwargs are the job's arguments, kept in the record only by
	// workers started with worker.WithResultArgs: a finished job's message
	// is gone, and its arguments with it.
	Args   []json.RawMessage          `json:"args,omitempty"`
	Kwargs map[string]json.RawMessage `json:"kwargs,omitempty"`
}

// Decode unmarshals the job's return value into v. For a failed job it returns
// the failure (a *JobFailedError).
func (r *Result) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	if len(r.Value) == 0 {
		return json.Unmarshal([]byte("null"), v)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("naq: decode result of job %s: %w", r.JobID, err)
	}
	return nil
}

// Err returns a *JobFailedError if the job failed, nil otherwise.
func (r *Result) Err() error {
	if r.Status != StateFailed && r.Status != StateCancelled {
		return nil
	}
	e := &JobFailedError{JobID: r.JobID, Kind: r.ErrorKind, Attempts: r.Attempts}
	if r.Error != nil {
		e.Message = *r.Error
	}
	if r.Traceback != nil {
		e.Traceback = *r.Traceback
	}
	return e
}

// JobStatus is a job's lifecycle record, merged from naq_job_status and
// naq_results.
type JobStatus struct {
	JobID         string    `json:"job_id"`
	State         State     `json:"state"`
	Name          string    `json:"function,omitempty"`
	Queue         string    `json:"queue_name,omitempty"`
	Attempts      int       `json:"attempts"`
	MaxRetries    int       `json:"max_retries"`
	WorkerID      string    `json:"worker_id,omitempty"`
	Error         string    `json:"error,omitempty"`
	EnqueuedAt    time.Time `json:"enqueued_at,omitzero"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	// Naks counts the times a worker put the job back on purpose (retry,
	// snooze, dependency wait, shutdown); deliveries beyond those went
	// unanswered.
	Naks int `json:"naks,omitempty"`
	// Progress is a running job's last reported progress (see Progress);
	// nil when it reported none.
	Progress *JobProgress `json:"progress,omitempty"`
}

// MarshalJSON writes the result by hand: a worker writes one for every job.
func (r *Result) MarshalJSON() ([]byte, error) {
	return records.EncodeResult((*records.Result)(r)), nil
}
