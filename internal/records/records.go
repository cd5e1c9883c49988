// Package records owns naq's job records: a finished job's result in
// naq_results and a job's status record in naq_job_status. It holds their
// encoding (naq-go's and the forms Python naq writes), their keys, the rules
// that combine them into a job's state, and the reads and writes the client,
// the worker and the CLI share. Failed-job, worker and schedule records live
// with their owners.
//
// Result and Status have the same fields as naq.Result and naq.JobStatus, so
// each converts to the other without copying; naq.State is State.
package records

import (
	"encoding/json"
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

// Result is a finished job's record in naq_results. Its first four fields
// are Python naq's result format; the others are naq-go's additions, which
// Python readers ignore.
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

// Status is a job's record in naq_job_status.
type Status struct {
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
	// Naks counts the times a worker put the job back on purpose.
	Naks int `json:"naks,omitempty"`
	// Progress is a running job's last reported progress.
	Progress *Progress `json:"progress,omitempty"`
}

// Progress is how far a running job has come, as its handler last reported
// it (naq.Progress).
type Progress struct {
	// Fraction is from 0 (nothing done) to 1 (all done).
	Fraction float64 `json:"fraction"`
	// Message says in words where the job is ("page 40 of 100").
	Message   string    `json:"message,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}
