package naq

import (
	"encoding/json"
	"time"
)

// FailedJob is a record in the naq_failed_jobs stream: a job that failed for
// good, with the whole original job so it can be requeued, or a message that
// was not a valid job, with its raw bytes and the decode error.
type FailedJob struct {
	JobID      string    `json:"job_id,omitempty"`
	Name       string    `json:"function,omitempty"`
	Queue      string    `json:"queue_name"`
	Error      string    `json:"error"`
	ErrorKind  string    `json:"error_kind,omitempty"`
	Traceback  string    `json:"traceback,omitempty"`
	Attempts   int       `json:"attempts"`
	MaxRetries int       `json:"max_retries"`
	EnqueuedAt time.Time `json:"enqueued_at,omitzero"`
	FailedAt   time.Time `json:"failed_at"`
	WorkerID   string    `json:"worker_id,omitempty"`
	// Job is the original wire job, byte for byte.
	Job json.RawMessage `json:"job,omitempty"`
	// Malformed marks a message that was not a valid naq job; Raw holds its
	// bytes and Error the decode error.
	Malformed bool   `json:"malformed,omitempty"`
	Raw       []byte `json:"raw,omitempty"`
	// RawEncoding says how Raw is written in JSON: "base64", since raw bytes
	// need not be text.
	RawEncoding string `json:"raw_encoding,omitempty"`
	// Subject and StreamSeq locate the original message in naq_jobs.
	Subject   string `json:"subject,omitempty"`
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	// ArgsRepr and KwargsRepr are the Python repr() of the arguments, all a
	// record written by Python naq keeps of them.
	ArgsRepr   string `json:"args_repr,omitempty"`
	KwargsRepr string `json:"kwargs_repr,omitempty"`
	// Foreign marks a record written by Python naq: it holds no job to
	// requeue, and its failure time is when the stream stored it.
	Foreign bool `json:"foreign,omitempty"`

	// Seq is the record's sequence in naq_failed_jobs (set when read back).
	Seq uint64 `json:"-"`
}

// WorkerState is what a worker is doing.
type WorkerState string

// Worker states.
const (
	WorkerStarting WorkerState = "starting"
	WorkerIdle     WorkerState = "idle"
	WorkerBusy     WorkerState = "busy"
	WorkerStopping WorkerState = "stopping"
)

// WorkerInfo is a worker's heartbeat record in naq_workers.
type WorkerInfo struct {
	ID          string      `json:"worker_id"`
	Hostname    string      `json:"hostname"`
	PID         int         `json:"pid"`
	Queues      []string    `json:"queues"`
	Concurrency int         `json:"concurrency"`
	State       WorkerState `json:"status"`
	RunningJobs []string    `json:"running_jobs"`
	Processed   int64       `json:"processed"`
	Failed      int64       `json:"failed"`
	// QueueStats counts per queue since the worker started.
	QueueStats        map[string]QueueCounters `json:"queue_stats,omitempty"`
	StartedAt         time.Time                `json:"started_at"`
	LastHeartbeat     time.Time                `json:"last_heartbeat"`
	HeartbeatInterval time.Duration            `json:"heartbeat_interval_ns"`
	// Stale is set by ListWorkers when no heartbeat came for two intervals.
	Stale bool `json:"-"`
	// Foreign marks a Python naq worker: its record names no queues,
	// concurrency or counters, and at most one running job.
	Foreign bool `json:"foreign,omitempty"`
}

// QueueCounters are a worker's counts for one queue: jobs processed (a final
// record stored: completed, failed or cancelled), failed for good, retries
// scheduled, and jobs running now.
type QueueCounters struct {
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
	InFlight  int64 `json:"in_flight"`
}
