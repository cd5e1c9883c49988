package naq

// The client's recurring schedules in naq_schedules: add, read, list, pause,
// resume, update, modify, cancel, delete. Not here: the Schedule type and its options
// (schedule.go), or the scheduler that runs them (package scheduler).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

func (c *Client) schedulesBucket(ctx context.Context) (jetstream.KeyValue, error) {
	return c.lazyBucket(ctx, &c.schedules, layout.SchedulesBucket)
}

// Schedule registers a recurring job: exactly one of Cron and Every, with
// optional InZone, Repeat, StartAt, CatchUpMissed, MaxFailures and
// WithJobOptions. A scheduler process (package scheduler) enqueues its
// occurrences.
func (c *Client) Schedule(ctx context.Context, name string, args any, opts ...ScheduleOption) (*Schedule, error) {
	cfg := scheduleConfig{s: Schedule{ID: newJobID(), CatchUp: CatchUpOne, MaxFailures: DefaultMaxScheduleFailures}}
	var errs []error
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := cfg.s
	spec, err := s.Spec()
	if err != nil {
		return nil, err
	}
	tmpl, err := NewJob(name, args, cfg.jobOpts...)
	if err != nil {
		return nil, err
	}
	if tmpl.Queue == "" {
		tmpl.Queue = c.defaultQueue
	}
	if len(tmpl.DependsOn) > 0 {
		return nil, fmt.Errorf("%w: occurrences of a recurring job cannot depend on other jobs", ErrInvalidSchedule)
	}
	tmpl.ID = s.ID
	if s.Template, err = tmpl.Encode(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	s.Name, s.Queue, s.State, s.CreatedAt, s.UpdatedAt = name, tmpl.Queue, ScheduleActive, now, now
	s.NextRun = cfg.start
	if s.NextRun.IsZero() {
		s.NextRun = spec.Next(now)
	}
	if s.NextRun.IsZero() {
		return nil, fmt.Errorf("%w: cron %q never fires", ErrInvalidSchedule, s.Cron)
	}
	if err := layout.ValidateJobID(s.OccurrenceID(s.NextRun)); err != nil {
		// Only a start time thousands of years away gets here.
		return nil, fmt.Errorf("%w: first occurrence at %s: %v", ErrInvalidSchedule, s.NextRun, err)
	}
	kv, err := c.schedulesBucket(ctx)
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(&s)
	rev, err := kv.Create(ctx, s.ID, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		// A cancelled schedule's id may be used again.
		old, gerr := c.GetSchedule(ctx, s.ID)
		if gerr != nil || old.State != ScheduleCancelled {
			return nil, fmt.Errorf("%w: schedule %s already exists", ErrInvalidSchedule, s.ID)
		}
		rev, err = kv.Update(ctx, s.ID, data, old.Revision)
	}
	if err != nil {
		return nil, fmt.Errorf("naq: create schedule %s: %w", s.ID, err)
	}
	s.Revision = rev
	return &s, nil
}

// GetSchedule returns one schedule.
func (c *Client) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	kv, err := c.schedulesBucket(ctx)
	if err != nil {
		return nil, err
	}
	return getSchedule(ctx, kv, id)
}

func getSchedule(ctx context.Context, kv jetstream.KeyValue, id string) (*Schedule, error) {
	if err := layout.ValidateJobID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScheduleNotFound, err)
	}
	e, err := kv.Get(ctx, id)
	if err != nil {
		if layout.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s", ErrScheduleNotFound, id)
		}
		return nil, fmt.Errorf("naq: schedule %s: %w", id, err)
	}
	return DecodeSchedule(e)
}

// DecodeSchedule reads a schedule record from its KV entry. A record naq-go
// did not write (Python naq pickles its schedules) wraps ErrForeignRecord.
func DecodeSchedule(e jetstream.KeyValueEntry) (*Schedule, error) {
	var s Schedule
	if err := json.Unmarshal(e.Value(), &s); err != nil || s.ID == "" {
		return nil, fmt.Errorf("naq: schedule %s: %w", e.Key(), ErrForeignRecord)
	}
	s.Revision = e.Revision()
	return &s, nil
}

// ListSchedules returns every schedule, sorted by next run. Schedules it
// cannot read (Python naq's) are skipped, and counted in one log line.
func (c *Client) ListSchedules(ctx context.Context) ([]Schedule, error) {
	kv, err := c.schedulesBucket(ctx)
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("naq: list schedules: %w", err)
	}
	out := []Schedule{}
	skipped := 0
	for k := range lister.Keys() {
		s, err := getSchedule(ctx, kv, k)
		if errors.Is(err, ErrScheduleNotFound) {
			continue
		}
		if errors.Is(err, ErrForeignRecord) {
			skipped++
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	logSkipped(c.log, skipped, "schedule", "schedules")
	sort.Slice(out, func(i, j int) bool { return out[i].NextRun.Before(out[j].NextRun) })
	return out, nil
}

// UpdateSchedule applies change to schedule id with compare-and-set, reading
// again and retrying when another writer got there first.
func (c *Client) UpdateSchedule(ctx context.Context, id string, change func(*Schedule) error) (*Schedule, error) {
	kv, err := c.schedulesBucket(ctx)
	if err != nil {
		return nil, err
	}
	for range 20 {
		s, err := getSchedule(ctx, kv, id)
		if err != nil {
			return nil, err
		}
		if err := change(s); err != nil {
			return nil, err
		}
		s.UpdatedAt = time.Now().UTC()
		data, _ := json.Marshal(s)
		rev, err := kv.Update(ctx, id, data, s.Revision)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("naq: update schedule %s: %w", id, err)
		}
		s.Revision = rev
		return s, nil
	}
	return nil, fmt.Errorf("naq: update schedule %s: too many concurrent writers", id)
}

// PauseSchedule stops enqueueing occurrences until ResumeSchedule.
func (c *Client) PauseSchedule(ctx context.Context, id string) (*Schedule, error) {
	return c.UpdateSchedule(ctx, id, func(s *Schedule) error {
		if s.State != ScheduleActive && s.State != SchedulePaused {
			return fmt.Errorf("%w: schedule %s is %s", ErrInvalidSchedule, id, s.State)
		}
		s.State = SchedulePaused
		return nil
	})
}

// ResumeSchedule makes a paused or failed schedule active again, with its
// failure count reset; it next runs at its first tick after now.
func (c *Client) ResumeSchedule(ctx context.Context, id string) (*Schedule, error) {
	return c.UpdateSchedule(ctx, id, func(s *Schedule) error {
		if s.State == ScheduleCancelled {
			return fmt.Errorf("%w: schedule %s is cancelled", ErrInvalidSchedule, id)
		}
		spec, err := s.Spec()
		if err != nil {
			return err
		}
		if now := time.Now(); s.NextRun.Before(now) {
			s.NextRun = spec.Next(now)
		}
		s.State, s.FailureCount, s.LastError = ScheduleActive, 0, ""
		return nil
	})
}

// CancelSchedule ends a schedule for good; its record stays, as cancelled.
func (c *Client) CancelSchedule(ctx context.Context, id string) (*Schedule, error) {
	return c.UpdateSchedule(ctx, id, func(s *Schedule) error { s.State = ScheduleCancelled; return nil })
}

// ModifySchedule changes a schedule's cron or interval (setting one clears the
// other), time zone, repeat count, catch-up policy, failure limit or next run
// (StartAt). Without StartAt the next run is recomputed from now.
func (c *Client) ModifySchedule(ctx context.Context, id string, opts ...ScheduleOption) (*Schedule, error) {
	var cfg scheduleConfig
	var errs []error
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(cfg.jobOpts) > 0 || cfg.s.ID != "" {
		errs = append(errs, fmt.Errorf("%w: the job and the id of a schedule cannot be modified", ErrInvalidSchedule))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m := cfg.s
	if m.Cron != "" && m.Interval != 0 {
		return nil, fmt.Errorf("%w: give a cron expression or an interval, not both", ErrInvalidSchedule)
	}
	return c.UpdateSchedule(ctx, id, func(s *Schedule) error {
		switch {
		case m.Cron != "":
			s.Cron, s.Interval = m.Cron, 0
		case m.Interval != 0:
			s.Cron, s.Interval = "", m.Interval
		}
		if m.TimeZone != "" {
			s.TimeZone = m.TimeZone
		}
		if m.RepeatsLeft != nil {
			s.RepeatsLeft = m.RepeatsLeft
		}
		if m.CatchUp != "" {
			s.CatchUp = m.CatchUp
		}
		if m.MaxFailures > 0 {
			s.MaxFailures = m.MaxFailures
		}
		spec, err := s.Spec()
		if err != nil {
			return err
		}
		s.NextRun = cfg.start
		if s.NextRun.IsZero() {
			s.NextRun = spec.Next(time.Now())
		}
		return nil
	})
}

// DeleteSchedule removes a schedule's record for good: no more occurrences,
// and it no longer shows in ListSchedules. Jobs it already enqueued are not
// touched.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	if _, err := c.GetSchedule(ctx, id); err != nil {
		return err
	}
	kv, err := c.schedulesBucket(ctx)
	if err != nil {
		return err
	}
	if err := kv.Purge(ctx, id); err != nil {
		return fmt.Errorf("naq: delete schedule %s: %w", id, err)
	}
	return nil
}

// TriggerSchedule enqueues one occurrence of the schedule now, outside its
// timetable: its next run and repeat count stay as they are. The job's id is
// the occurrence id of this moment, so two triggers in the same millisecond
// make one job.
func (c *Client) TriggerSchedule(ctx context.Context, id string) (*Job, error) {
	s, err := c.GetSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.State == ScheduleCancelled {
		return nil, fmt.Errorf("%w: schedule %s is cancelled", ErrInvalidSchedule, id)
	}
	j, err := s.Occurrence(time.Now())
	if err != nil {
		return nil, err
	}
	if err := c.EnqueueJob(ctx, j); err != nil {
		return nil, fmt.Errorf("naq: trigger schedule %s: %w", id, err)
	}
	return j, nil
}
