package scheduler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// runner is the leader's work: it mirrors the registry through a watch and
// keeps active schedules in a heap by next run, so each tick costs what is
// due, not what exists.
type runner struct {
	client *naq.Client
	kv     jetstream.KeyValue
	log    *slog.Logger
	window time.Duration // catch-up window: see dueTicks
	// held reports whether the lease is still certainly ours. Checked before
	// every enqueue, it keeps a leader that wakes from a stall past its lease
	// from acting before its renewal loop notices.
	held func() bool

	byID    map[string]*naq.Schedule
	due     dueHeap
	backoff map[string]time.Time // no retry of a failing schedule before this
	// foreign holds the keys of records another naq wrote (Python naq's
	// pickled schedules): never run, changed or removed, only counted.
	foreign map[string]bool
	synced  bool // the watch has delivered every existing record
}

func (r *runner) run(ctx context.Context) {
	r.byID, r.due, r.backoff = map[string]*naq.Schedule{}, nil, map[string]time.Time{}
	r.foreign, r.synced = map[string]bool{}, false
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		r.log.Warn("cannot watch schedules", "err", err)
		sleep(ctx, time.Second)
		return
	}
	defer func() { _ = w.Stop() }()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		if len(r.due) > 0 {
			wait = max(time.Until(r.due[0].at), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				r.apply(e)
			} else if !r.synced { // the existing records are all in
				r.synced = true
				r.reportForeign(len(r.foreign))
			}
		case <-timer.C:
			r.fireDue(ctx)
		}
	}
}

// apply takes a registry change into the mirror.
func (r *runner) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.byID, e.Key())
		delete(r.foreign, e.Key())
		return
	}
	s, err := naq.DecodeSchedule(e)
	if errors.Is(err, naq.ErrForeignRecord) {
		delete(r.byID, e.Key())
		if !r.foreign[e.Key()] {
			r.foreign[e.Key()] = true
			if r.synced {
				r.reportForeign(1)
			}
		}
		return
	}
	if err != nil {
		r.log.Warn("unreadable schedule", "id", e.Key(), "err", err)
		return
	}
	r.byID[s.ID] = s
	if s.State == naq.ScheduleActive {
		heap.Push(&r.due, dueItem{id: s.ID, rev: s.Revision, at: s.NextRun})
	}
}

// reportForeign says in one line how many schedules of another naq the
// scheduler leaves alone.
func (r *runner) reportForeign(n int) {
	switch {
	case n == 1:
		r.log.Info("1 schedule written by another naq skipped", "count", n)
	case n > 1:
		r.log.Info(fmt.Sprintf("%d schedules written by another naq skipped", n), "count", n)
	}
}

// fireDue runs every schedule whose next run has come. Heap entries made
// stale by a later change of their schedule are dropped as they surface.
func (r *runner) fireDue(ctx context.Context) {
	now := time.Now()
	for len(r.due) > 0 && !r.due[0].at.After(now) && ctx.Err() == nil && r.held() {
		it := heap.Pop(&r.due).(dueItem)
		s, ok := r.byID[it.id]
		if !ok || s.Revision != it.rev || s.State != naq.ScheduleActive {
			continue
		}
		if until, ok := r.backoff[s.ID]; ok && until.After(now) {
			heap.Push(&r.due, dueItem{id: s.ID, rev: s.Revision, at: until})
			continue
		}
		if next := r.fire(ctx, s, now); !next.IsZero() {
			// Until the watch delivers our own update, retry at next.
			heap.Push(&r.due, dueItem{id: s.ID, rev: s.Revision, at: next})
		}
	}
}

// fire enqueues the due occurrence(s) of s (see dueTicks), then records the
// run with compare-and-set. Occurrence ids are their own Nats-Msg-Id, so even
// a scheduler that lost its lease mid-tick cannot enqueue one twice. It
// returns when to look at s again if its record could not be updated.
func (r *runner) fire(ctx context.Context, s *naq.Schedule, now time.Time) time.Time {
	if s.RepeatsLeft != nil && *s.RepeatsLeft <= 0 {
		// Finished, but its removal failed last time: remove it now.
		if err := r.kv.Delete(ctx, s.ID); err != nil {
			r.log.Warn("could not remove a finished schedule", "schedule", s.ID, "err", err)
			return time.Now().Add(time.Second)
		}
		return time.Time{}
	}
	spec, err := s.Spec()
	if err != nil {
		r.fail(ctx, s, err, true)
		return time.Time{}
	}
	ticks, next := dueTicks(spec, s.NextRun, s.CatchUp, now, r.window)
	if s.RepeatsLeft != nil && len(ticks) > *s.RepeatsLeft {
		ticks = ticks[:*s.RepeatsLeft]
	}
	var last string
	for _, t := range ticks {
		if !r.held() {
			return time.Time{} // the next leader reads the record and enqueues the rest
		}
		job, err := s.Occurrence(t)
		if err == nil {
			err = r.client.EnqueueJob(ctx, job)
		}
		if err != nil {
			if ctx.Err() != nil {
				return time.Time{}
			}
			r.fail(ctx, s, err, false)
			r.backoff[s.ID] = time.Now().Add(time.Second << min(s.FailureCount, 5))
			return r.backoff[s.ID]
		}
		last = job.ID
	}
	delete(r.backoff, s.ID)
	_, err = r.client.UpdateSchedule(ctx, s.ID, func(cur *naq.Schedule) error {
		if cur.Revision != s.Revision {
			return errChanged
		}
		cur.LastRun, cur.LastJobID, cur.NextRun, cur.FailureCount, cur.LastError = now.UTC(), last, next, 0, ""
		if cur.RepeatsLeft != nil {
			left := *cur.RepeatsLeft - len(ticks)
			cur.RepeatsLeft = &left
		}
		return nil
	})
	switch {
	case errors.Is(err, errChanged):
		return time.Time{} // changed meanwhile (paused, modified): the watch brings the new record
	case err != nil:
		r.log.Warn("could not record a schedule run", "schedule", s.ID, "err", err)
		return time.Now().Add(time.Second)
	}
	if s.RepeatsLeft != nil && *s.RepeatsLeft-len(ticks) <= 0 {
		if err := r.kv.Delete(ctx, s.ID); err != nil {
			r.log.Warn("could not remove a finished schedule", "schedule", s.ID, "err", err)
		}
	}
	return time.Time{}
}

var errChanged = errors.New("schedule changed")

// fail counts an enqueue failure; at the schedule's limit (or at once for a
// schedule that cannot be computed) it turns the schedule to failed.
func (r *runner) fail(ctx context.Context, s *naq.Schedule, cause error, permanent bool) {
	r.log.Warn("schedule run failed", "schedule", s.ID, "err", cause)
	_, err := r.client.UpdateSchedule(ctx, s.ID, func(cur *naq.Schedule) error {
		cur.FailureCount++
		cur.LastError = cause.Error()
		limit := cur.MaxFailures
		if limit <= 0 {
			limit = naq.DefaultMaxScheduleFailures
		}
		if permanent || cur.FailureCount >= limit {
			cur.State = naq.ScheduleFailed
		}
		return nil
	})
	if err != nil {
		r.log.Warn("could not record a schedule failure", "schedule", s.ID, "err", err)
	}
}

type dueItem struct {
	id  string
	rev uint64
	at  time.Time
}

type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
