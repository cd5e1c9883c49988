package scheduler

import (
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/schedspec"
)

// DefaultCatchUpWindow is how far back a scheduler enqueues every occurrence
// it finds due, whatever the schedule's catch-up policy.
const DefaultCatchUpWindow = time.Minute

// MaxCatchUpWindow is the longest catch-up window: the job stream's duplicate
// window (2 min) less 30 s for clock differences between scheduler hosts and
// slow enqueues. Within it, an occurrence a previous leader already enqueued
// is deduplicated by its id, never enqueued twice.
const MaxCatchUpWindow = layout.DuplicateWindow - 30*time.Second

// maxCatchUp bounds the occurrences due before the catch-up window that one
// run enqueues under naq.CatchUpAll.
const maxCatchUp = 1000

// dueTicks lists the occurrences of a schedule to enqueue at now, oldest
// first, from first (its record's next run), and the first tick after them.
//
//   - Every tick due within window before now runs. Those are the ticks a
//     failover or a short stop delayed; a leader that enqueued some of them
//     before it died is deduplicated by their ids, since the window is shorter
//     than the duplicate window.
//   - Ticks due earlier follow the schedule's policy: naq.CatchUpAll runs each
//     (the oldest maxCatchUp), naq.CatchUpOne runs one for all of them, the
//     first. The first, not the latest: every scheduler reading the same record
//     picks the same occurrence, so two leaders overlapping on a stale record
//     cannot run it twice.
//
// A tick beyond both is skipped; next is always after now.
func dueTicks(spec schedspec.Spec, first time.Time, policy naq.CatchUp, now time.Time, window time.Duration) (ticks []time.Time, next time.Time) {
	cut := now.Add(-window) // ticks after cut are within the window
	recent := first
	if !first.After(cut) {
		ticks = append(ticks, first)
		if policy == naq.CatchUpAll {
			for t := spec.Next(first); !t.IsZero() && !t.After(cut) && len(ticks) < maxCatchUp; t = spec.Next(t) {
				ticks = append(ticks, t)
			}
		}
		recent = spec.After(first, cut)
	}
	for t := recent; !t.IsZero() && !t.After(now); t = spec.Next(t) {
		ticks = append(ticks, t)
	}
	if len(ticks) == 0 { // first is not due yet; callers never ask, but keep it
		ticks = append(ticks, first)
	}
	last := ticks[len(ticks)-1]
	return ticks, spec.After(last, maxTime(now, last))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
