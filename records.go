package naq

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is a job's place in its lifecycle.
type State string

// Job states. Completed, Failed and Cancelled are terminal.
const (
	StateScheduled State = "scheduled"
	StatePending   State = "pending"
	StateRunning   State = "running"
	StateRetrying  State = "retrying"
	StateCompleted State = "completed"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Terminal reports whether s is a final state.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

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
}

// StatusFromResult derives the status record a finished job's result implies.
func StatusFromResult(r *Result) *JobStatus {
	s := &JobStatus{
		JobID: r.JobID, State: r.Status, Name: r.Name, Queue: r.Queue, Attempts: r.Attempts,
		WorkerID: r.WorkerID, EnqueuedAt: r.EnqueuedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, UpdatedAt: r.FinishedAt,
	}
	if r.Error != nil {
		s.Error = *r.Error
	}
	return s
}
