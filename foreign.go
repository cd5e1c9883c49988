package naq

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/naqgo/naq/internal/records"
)

// ErrForeignRecord: a record naq-go cannot read, written by another naq
// (Python naq pickles its schedules, for one). Listings skip such records and
// say how many in one log line; reading one by its key returns this error.
var ErrForeignRecord = records.ErrForeign

// pythonHeartbeat is Python naq's fixed heartbeat interval: its worker
// records do not say theirs.
const pythonHeartbeat = 15 * time.Second

// logSkipped writes the one line a listing gives for the records it skipped.
func logSkipped(log *slog.Logger, n int, one, many string) {
	if n == 0 {
		return
	}
	what := many
	if n == 1 {
		what = one
	}
	log.Info(fmt.Sprintf("%d %s written by another naq skipped", n, what), "count", n)
}

// pythonWorker is Python naq's heartbeat record:
// {worker_id, status, timestamp, hostname, pid, job_id?}.
type pythonWorker struct {
	ID        string   `json:"worker_id"`
	Status    string   `json:"status"`
	Timestamp *float64 `json:"timestamp"`
	Hostname  string   `json:"hostname"`
	PID       float64  `json:"pid"`
	JobID     string   `json:"job_id"`
}

// decodeWorker reads a heartbeat record: naq-go's, or Python naq's (pickled).
func decodeWorker(data []byte) (WorkerInfo, error) {
	var w WorkerInfo
	data, err := records.JSON(data)
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(data, &w); err == nil && w.ID != "" && !w.LastHeartbeat.IsZero() {
		return w, nil
	}
	var p pythonWorker
	if err := json.Unmarshal(data, &p); err != nil || p.ID == "" || p.Timestamp == nil {
		return w, fmt.Errorf("%w: not a worker record", ErrForeignRecord)
	}
	w = WorkerInfo{
		ID: p.ID, Hostname: p.Hostname, PID: int(p.PID), State: WorkerState(p.Status), RunningJobs: []string{},
		LastHeartbeat: fromUnix(*p.Timestamp), HeartbeatInterval: pythonHeartbeat, Foreign: true,
	}
	if p.JobID != "" {
		w.RunningJobs = []string{p.JobID}
	}
	return w, nil
}

// failedRecord is a failed-job record as naq-go or Python naq writes it.
// Python's: {job_id, enqueue_time, function_str, args_repr, kwargs_repr,
// max_retries, retry_delay, queue_name, error, traceback}.
type failedRecord struct {
	FailedJob
	FunctionStr *string  `json:"function_str"`
	EnqueueTime *float64 `json:"enqueue_time"`
}

// decodeFailedData reads a failed-job record; stored is the time the stream
// stored it, the failure time of a record that does not say its own.
func decodeFailedData(data []byte, stored time.Time) (*FailedJob, error) {
	data, err := records.JSON(data)
	if err != nil {
		return nil, err
	}
	var rec failedRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%w: not a failed-job record: %v", ErrForeignRecord, err)
	}
	f := rec.FailedJob
	if rec.FunctionStr != nil { // Python naq's
		f.Foreign = true
		if f.Name == "" {
			f.Name = *rec.FunctionStr
		}
		if rec.EnqueueTime != nil && f.EnqueuedAt.IsZero() {
			f.EnqueuedAt = fromUnix(*rec.EnqueueTime)
		}
	}
	if f.FailedAt.IsZero() {
		f.FailedAt = stored.UTC()
	}
	return &f, nil
}

// DecodeStatus reads job id's record from naq_job_status: naq-go's JSON, or
// the bare state word Python naq writes ("completed", "failed"); updated is
// when the record was written. Any other record wraps ErrForeignRecord.
func DecodeStatus(id string, data []byte, updated time.Time) (*JobStatus, error) {
	st, err := records.DecodeStatus(id, data, updated)
	return (*JobStatus)(st), err
}
