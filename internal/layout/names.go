// Package layout holds naq's NATS names (streams, subjects, buckets, consumers)
// and the idempotent provisioning of them. The names are Python naq's, so Go and
// Python services can share one NATS deployment.
package layout

import (
	"fmt"
	"time"
)

// NATS names shared with Python naq.
const (
	JobsStream          = "naq_jobs"
	JobsSubjectPrefix   = "naq.queue."
	DelayedPrefix       = "naq.delayed."
	FailedStream        = "naq_failed_jobs"
	FailedSubjectPrefix = "naq.failed."
	ResultsBucket       = "naq_results"
	ResultsStream       = "KV_" + ResultsBucket // the results bucket's stream
	StatusBucket        = "naq_job_status"
	WorkersBucket       = "naq_workers"
	CancelledBucket     = "naq_cancelled"
	SchedulesBucket     = "naq_scheduled_jobs"
	SchedulerLockBucket = "naq_go_scheduler_lock" // naq-go's own; see PythonSchedulerLock
	// PythonSchedulerLock is Python naq's scheduler lock bucket (key
	// "leader_lock", renewed every 15 s by a plain put). naq-go neither takes,
	// renews nor reconfigures it: the two kinds of scheduler run side by side,
	// each on its own schedule records.
	PythonSchedulerLock = "naq_scheduler_lock"
	ConsumerPrefix      = "naq-worker-"
	DefaultQueue        = "naq_default_queue"
)

// Headers a worker puts on a job it hands to the server to return later (a
// retry or snooze of an hour or more, through a schedule on
// naq.delayed.<id>): the attempts used so far and the deliberate put-backs,
// which the status record would otherwise hold past its expiry.
const (
	AttemptsHeader = "Naq-Attempts"
	NaksHeader     = "Naq-Naks"
)

// Defaults shared by producers and workers.
const (
	DefaultResultTTL = 7 * 24 * time.Hour
	DefaultStatusTTL = 24 * time.Hour
	DefaultAckWait   = 60 * time.Second
	// DuplicateWindow is how long a job id stays deduplicated after its first
	// publish (JetStream's Nats-Msg-Id window).
	DuplicateWindow = 2 * time.Minute
)

// token reports whether s is made of letters, digits, '_', '-' and, with
// equals, '='. It runs on every job of a bulk enqueue's validation, a table
// lookup a byte.
func token(s string, equals bool) bool {
	want := byte(tokenPlain)
	if equals {
		want |= tokenEquals
	}
	for i := 0; i < len(s); i++ {
		if tokenBytes[s[i]]&want == 0 {
			return false
		}
	}
	return true
}

const (
	tokenPlain  = 1 << iota // letters, digits, '_' and '-'
	tokenEquals             // '='
)

// tokenBytes classifies each byte for token; it is never written after its
// initialization.
var tokenBytes = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			t[c] = tokenPlain
		case c == '=':
			t[c] = tokenEquals
		}
	}
	return t
}()

// QueueSubject is the subject jobs of queue q are published on.
func QueueSubject(q string) string { return JobsSubjectPrefix + q }

// DelayedSubject holds job id's server-side schedule until it fires.
func DelayedSubject(id string) string { return DelayedPrefix + id }

// FailedSubject is the subject failed jobs of queue q are published on.
func FailedSubject(q string) string { return FailedSubjectPrefix + q }

// ConsumerName is the durable consumer that every worker of queue q shares.
func ConsumerName(q string) string { return ConsumerPrefix + q }

// WorkerSubject is the KV subject of a worker's heartbeat record.
func WorkerSubject(id string) string { return "$KV." + WorkersBucket + "." + id }

// ValidateQueue reports whether q can be used as a queue name. A queue name
// becomes one subject token, so dots, wildcards and spaces are refused.
func ValidateQueue(q string) error {
	if q == "" {
		return fmt.Errorf("invalid queue name %q: must not be empty", q)
	}
	if len(q) > 128 {
		return fmt.Errorf("invalid queue name %q: longer than 128 characters", q)
	}
	if !token(q, false) {
		return fmt.Errorf("invalid queue name %q: use only letters, digits, '_' and '-' (no dots, wildcards or spaces)", q)
	}
	return nil
}

// ValidateJobID reports whether id can be used as a job id: it is a KV key and a
// Nats-Msg-Id, so it is restricted to letters, digits, '_', '-' and '='.
func ValidateJobID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid job id: must not be empty")
	}
	if len(id) > 200 {
		return fmt.Errorf("invalid job id %q: longer than 200 characters", id)
	}
	if !token(id, true) {
		return fmt.Errorf("invalid job id %q: use only letters, digits, '_', '-' and '='", id)
	}
	return nil
}

// Buckets of naq-go's flow control, which Python naq does not know.
const (
	// UniqueBucket holds the locks of unique jobs: key = a hash of the job's
	// unique key, value = the id of the job that holds it.
	UniqueBucket = "naq_unique"
	// RateLimitStream counts the starts of rate-limited jobs, one subject
	// per limit and window.
	RateLimitStream        = "naq_rate_limits"
	RateLimitSubjectPrefix = "naq.rate."
	// MaxRatePeriod is the longest period of a rate limit.
	MaxRatePeriod = 24 * time.Hour
)

// ValidateKVKey reports whether k can be one token of a bucket key: letters,
// digits, '_', '-' and '=', at most 200 of them.
func ValidateKVKey(k string) error {
	if k == "" {
		return fmt.Errorf("invalid key: must not be empty")
	}
	if len(k) > 200 {
		return fmt.Errorf("invalid key %q: longer than 200 characters", k)
	}
	if !token(k, true) {
		return fmt.Errorf("invalid key %q: use only letters, digits, '_', '-' and '='", k)
	}
	return nil
}
