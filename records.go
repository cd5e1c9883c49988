package naq

import (
	"encoding/json"
	"fmt"
	"strconv"
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

// MarshalJSON writes the result by hand: a worker writes one for every job.
func (r *Result) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, r.sizeHint())), nil
}

// sizeHint is about the length of the result's JSON, so it is written into
// one allocation: the fixed part (keys and three times) and the variable
// fields, escapes aside.
func (r *Result) sizeHint() int {
	n := 320 + len(r.Value) + len(r.JobID) + len(r.Name) + len(r.Queue) + len(r.ErrorKind) + len(r.WorkerID)
	if r.Error != nil {
		n += len(*r.Error)
	}
	if r.Traceback != nil {
		n += len(*r.Traceback)
	}
	return n
}

// AppendJSON appends the result's JSON to b.
func (r *Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"result":`...)
	if len(r.Value) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Value...)
	}
	b = append(b, `,"error":`...)
	b = appendOptString(b, r.Error)
	b = append(b, `,"traceback":`...)
	b = appendOptString(b, r.Traceback)
	b = appendField(b, "job_id", r.JobID)
	b = appendField(b, "function", r.Name)
	b = appendField(b, "queue_name", r.Queue)
	b = appendField(b, "error_kind", r.ErrorKind)
	if r.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(r.Attempts), 10)
	}
	b = appendField(b, "worker_id", r.WorkerID)
	b = appendTime(b, "enqueued_at", r.EnqueuedAt)
	b = appendTime(b, "started_at", r.StartedAt)
	b = appendTime(b, "finished_at", r.FinishedAt)
	return append(b, '}')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendField appends ,"key":"value" unless value is empty.
func appendField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendTime appends ,"key":"<RFC 3339>" unless t is zero.
func appendTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
