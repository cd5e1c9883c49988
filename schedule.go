package naq

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/schedspec"
)

// ScheduleState is a recurring schedule's state, stored as a string.
type ScheduleState string

// Schedule states.
const (
	ScheduleActive    ScheduleState = "active"
	SchedulePaused    ScheduleState = "paused"
	ScheduleFailed    ScheduleState = "failed"
	ScheduleCancelled ScheduleState = "cancelled"
)

// CatchUp says what a schedule does with ticks missed while no scheduler
// ran, before the scheduler's catch-up window: every tick within the window
// runs whatever the policy (see scheduler.WithCatchUpWindow).
type CatchUp string

// Catch-up policies.
const (
	// CatchUpOne runs once for all ticks missed before the window: the first
	// of them (the default).
	CatchUpOne CatchUp = "one"
	// CatchUpAll runs every tick missed before the window, up to 1,000.
	CatchUpAll CatchUp = "all"
)

// ErrScheduleNotFound: no schedule with that id.
var ErrScheduleNotFound = errors.New("naq: schedule not found")

// ErrInvalidSchedule: a schedule that cannot run (cron, interval, zone, repeat).
var ErrInvalidSchedule = errors.New("naq: invalid schedule")

// Schedule is a recurring job's record in naq_scheduled_jobs. Each occurrence
// is its own job, with the id "<schedule id>-<due time in Unix ms>", so the
// same occurrence can never be enqueued twice.
type Schedule struct {
	ID           string          `json:"schedule_id"`
	Name         string          `json:"function"`
	Queue        string          `json:"queue_name"`
	Cron         string          `json:"cron,omitempty"`
	Interval     time.Duration   `json:"interval_ns,omitempty"`
	TimeZone     string          `json:"time_zone,omitempty"`
	RepeatsLeft  *int            `json:"repeat"`
	State        ScheduleState   `json:"status"`
	CatchUp      CatchUp         `json:"catch_up"`
	NextRun      time.Time       `json:"next_run_utc"`
	LastRun      time.Time       `json:"last_enqueued_utc,omitzero"`
	LastJobID    string          `json:"last_job_id,omitempty"`
	FailureCount int             `json:"schedule_failure_count"`
	MaxFailures  int             `json:"max_failures"`
	LastError    string          `json:"last_error,omitempty"`
	Template     json.RawMessage `json:"job"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`

	// Revision is the record's KV revision, for compare-and-set updates.
	Revision uint64 `json:"-"`
}

// Spec parses the schedule's cron or interval and time zone.
func (s *Schedule) Spec() (schedspec.Spec, error) {
	sp, err := schedspec.Parse(s.Cron, s.Interval, s.TimeZone)
	if err != nil {
		return sp, fmt.Errorf("%w: %v", ErrInvalidSchedule, err)
	}
	return sp, nil
}

// OccurrenceID is the job id of the occurrence due at t.
func (s *Schedule) OccurrenceID(t time.Time) string {
	return fmt.Sprintf("%s-%d", s.ID, t.UnixMilli())
}

// Occurrence builds the job of the occurrence due at t from the template.
func (s *Schedule) Occurrence(t time.Time) (*Job, error) {
	j, err := DecodeJob(s.Template)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: bad job template: %w", s.ID, err)
	}
	j.ID = s.OccurrenceID(t)
	j.EnqueuedAt = time.Now().UTC()
	return j, nil
}

// ScheduleOption configures a recurring job.
type ScheduleOption func(*scheduleConfig) error

type scheduleConfig struct {
	s       Schedule
	start   time.Time
	jobOpts []EnqueueOption
}

// Cron runs the job on a cron expression: 5 fields (minute first), 6 fields
// (second first), or @yearly, @monthly, @weekly, @daily, @hourly.
func Cron(expr string) ScheduleOption {
	return func(c *scheduleConfig) error { c.s.Cron = expr; return nil }
}

// Every runs the job every d (at least one second).
func Every(d time.Duration) ScheduleOption {
	return func(c *scheduleConfig) error { c.s.Interval = d; return nil }
}

// InZone reads the cron expression in an IANA time zone (default UTC).
func InZone(tz string) ScheduleOption {
	return func(c *scheduleConfig) error { c.s.TimeZone = tz; return nil }
}

// Repeat stops the schedule after n runs (default: forever).
func Repeat(n int) ScheduleOption {
	return func(c *scheduleConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: repeat count %d is below one", ErrInvalidSchedule, n)
		}
		c.s.RepeatsLeft = &n
		return nil
	}
}

// MaxScheduleIDLen is the longest schedule id. An occurrence's job id is the
// schedule id, "-" and the due time in Unix milliseconds (13 digits today, at
// most 15 through the year 9999), and a job id has at most 200 characters.
const MaxScheduleIDLen = 200 - 1 - 15

// ScheduleID names the schedule (default: a random id): at most
// MaxScheduleIDLen letters, digits, '_', '-' and '='.
func ScheduleID(id string) ScheduleOption {
	return func(c *scheduleConfig) error {
		if len(id) > MaxScheduleIDLen {
			return fmt.Errorf("%w: schedule id of %d characters: at most %d, so that every occurrence's job id "+
				"(<schedule id>-<due time in Unix ms>) fits the 200-character limit of job ids",
				ErrInvalidSchedule, len(id), MaxScheduleIDLen)
		}
		if err := layout.ValidateJobID(id); err != nil {
			return fmt.Errorf("%w: schedule id: %v", ErrInvalidSchedule, err)
		}
		c.s.ID = id
		return nil
	}
}

// StartAt sets the first run (default: the first tick after now; for an
// interval, now + interval).
func StartAt(t time.Time) ScheduleOption {
	return func(c *scheduleConfig) error { c.start = t.UTC(); return nil }
}

// CatchUpMissed runs every tick missed during a long outage (before the
// scheduler's catch-up window) instead of one run for all of them.
func CatchUpMissed() ScheduleOption {
	return func(c *scheduleConfig) error { c.s.CatchUp = CatchUpAll; return nil }
}

// MaxFailures sets how many enqueue failures in a row put the schedule in
// state failed (default 5; 0 keeps the default).
func MaxFailures(n int) ScheduleOption {
	return func(c *scheduleConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: max failures %d must not be negative", ErrInvalidSchedule, n)
		}
		if n > 0 {
			c.s.MaxFailures = n
		}
		return nil
	}
}

// WithJobOptions applies enqueue options (queue, retries, timeout...) to every
// occurrence.
func WithJobOptions(opts ...EnqueueOption) ScheduleOption {
	return func(c *scheduleConfig) error { c.jobOpts = append(c.jobOpts, opts...); return nil }
}

// DefaultMaxScheduleFailures is naq's limit of enqueue failures in a row.
const DefaultMaxScheduleFailures = 5
