package records

import "time"

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
