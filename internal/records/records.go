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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/naqgo/naq/internal/jsonscan"
	"github.com/naqgo/naq/internal/pickle"
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
	// Args and Kwargs are the job's arguments, kept in the record only by
	// workers started with worker.WithResultArgs: a finished job's message
	// is gone, and its arguments with it.
	Args   []json.RawMessage          `json:"args,omitempty"`
	Kwargs map[string]json.RawMessage `json:"kwargs,omitempty"`
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

// The rules that make a job's state out of its two records.

// FromResult is the status record a finished job's result implies.
func FromResult(r *Result) *Status {
	s := &Status{
		JobID: r.JobID, State: r.Status, Name: r.Name, Queue: r.Queue, Attempts: r.Attempts,
		WorkerID: r.WorkerID, EnqueuedAt: r.EnqueuedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, UpdatedAt: r.FinishedAt,
	}
	if r.Error != nil {
		s.Error = *r.Error
	}
	return s
}

// Merge is a job's state from its result (nil: none) and its status record
// (nil: none): a result, being final, wins, and takes the max retries only
// the status record knows; a scheduled job whose time has come waits in its
// queue, so it is pending. Nil when there is neither.
func Merge(r *Result, st *Status, now time.Time) *Status {
	if r == nil {
		if st != nil && st.State == StateScheduled && !st.NextAttemptAt.After(now) {
			st.State = StatePending
		}
		return st
	}
	out := FromResult(r)
	if st != nil {
		out.MaxRetries = st.MaxRetries
	}
	return out
}

// Dep says whether a dependency lets its dependents run.
type Dep int

// Dependency verdicts.
const (
	DepReady   Dep = iota // completed
	DepWaiting            // not finished
	DepFailed             // failed or cancelled
)

// Dependency judges a dependency by its result (nil: none) and, without one,
// its status record (nil: none): a record that says completed is enough when
// the result is gone or unreadable.
func Dependency(r *Result, st *Status) Dep {
	if r != nil {
		if r.Status == StateCompleted {
			return DepReady
		}
		return DepFailed
	}
	switch {
	case st == nil:
		return DepWaiting
	case st.State == StateFailed || st.State == StateCancelled:
		return DepFailed
	case st.State == StateCompleted:
		return DepReady
	}
	return DepWaiting
}

// CancelledKind is the error kind of a job cancelled before it finished.
const CancelledKind = "naq:Cancelled"

// Cancelled is the pair of records a job cancelled at now gets.
func Cancelled(id string, now time.Time) (*Result, *Status) {
	msg := "job cancelled"
	return &Result{Status: StateCancelled, Error: &msg, JobID: id, ErrorKind: CancelledKind, FinishedAt: now},
		&Status{JobID: id, State: StateCancelled, Error: msg, FinishedAt: now, UpdatedAt: now}
}

// Encoding.

// EncodeResult is r's JSON, in one allocation.
func EncodeResult(r *Result) []byte {
	return AppendResult(make([]byte, 0, sizeHint(r)), r)
}

// sizeHint is about the length of r's JSON: the fixed part (keys and three
// times) and the variable fields, escapes aside.
func sizeHint(r *Result) int {
	n := 320 + len(r.Value) + len(r.JobID) + len(r.Name) + len(r.Queue) + len(r.ErrorKind) + len(r.WorkerID) + ArgsSize(r.Args, r.Kwargs)
	if r.Error != nil {
		n += len(*r.Error)
	}
	if r.Traceback != nil {
		n += len(*r.Traceback)
	}
	return n
}

// AppendResult appends r's JSON to b. It writes by hand, as encoding/json
// would with Result's tags: a worker writes one for every job.
func AppendResult(b []byte, r *Result) []byte {
	b = append(b, `{"status":`...)
	b = jsonscan.AppendString(b, string(r.Status))
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
	if len(r.Args) > 0 {
		b = append(b, `,"args":[`...)
		for i, a := range r.Args {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRaw(b, a)
		}
		b = append(b, ']')
	}
	if len(r.Kwargs) > 0 {
		b = append(b, `,"kwargs":{`...)
		for i, k := range slices.Sorted(maps.Keys(r.Kwargs)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, k)
			b = append(b, ':')
			b = appendRaw(b, r.Kwargs[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRaw appends a raw JSON value, null for none.
func appendRaw(b []byte, v json.RawMessage) []byte {
	if len(v) == 0 {
		return append(b, "null"...)
	}
	return append(b, v...)
}

// ArgsSize is about the length of args and kwargs in a result's JSON.
func ArgsSize(args []json.RawMessage, kwargs map[string]json.RawMessage) int {
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	for k, a := range kwargs {
		n += len(k) + len(a) + 4
	}
	return n
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonscan.AppendString(b, *s)
}

// appendField appends ,"key":"value" unless value is empty.
func appendField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return jsonscan.AppendString(b, value)
}

// appendTime appends ,"key":"<RFC 3339>" unless t is zero.
func appendTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = jsonscan.AppendTime(b, t)
	return append(b, '"')
}

// EncodeStatus is st's JSON.
func EncodeStatus(st *Status) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("naq: encode status of job %s: %w", st.JobID, err)
	}
	return data, nil
}

// Decoding.

// ErrForeign: a record naq-go cannot read, written by another naq (naq's
// ErrForeignRecord).
var ErrForeign = errors.New("naq: record written by another naq in a form naq-go cannot read")

// JSON returns a record as JSON: JSON as it is, a pickled dict of plain
// values (as Python naq writes worker records, and any record in pickle mode)
// converted. Anything else wraps ErrForeign.
func JSON(data []byte) ([]byte, error) {
	if !pickle.IsPickle(data) {
		return data, nil
	}
	m, err := pickle.DecodeDict(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrForeign, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrForeign, err)
	}
	return b, nil
}

// DecodeResult reads job id's record from naq_results: naq-go's, or Python
// naq's {status, result, error, traceback}, as JSON or pickled plain data.
// Any other record wraps ErrForeign.
func DecodeResult(id string, data []byte) (*Result, error) {
	data, err := JSON(data)
	if err != nil {
		return nil, fmt.Errorf("naq: result of job %s: %w", id, err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.Status == "" {
		return nil, fmt.Errorf("naq: result of job %s: %w: not a result record", id, ErrForeign)
	}
	if r.JobID == "" {
		r.JobID = id
	}
	return &r, nil
}

// pythonStates maps the bare words Python naq stores in naq_job_status.
var pythonStates = map[string]State{
	"pending": StatePending, "running": StateRunning, "completed": StateCompleted, "failed": StateFailed,
	"retry": StateRetrying, "scheduled": StateScheduled, "cancelled": StateCancelled,
}

// DecodeStatus reads job id's record from naq_job_status: naq-go's JSON, or
// the bare state word Python naq writes ("completed", "failed"); updated is
// when the record was written. Any other record wraps ErrForeign.
func DecodeStatus(id string, data []byte, updated time.Time) (*Status, error) {
	var st Status
	if err := json.Unmarshal(data, &st); err == nil {
		return &st, nil
	}
	if s, ok := pythonStates[string(data)]; ok {
		return &Status{JobID: id, State: s, UpdatedAt: updated.UTC()}, nil
	}
	return nil, fmt.Errorf("%w: status of job %s", ErrForeign, id)
}
