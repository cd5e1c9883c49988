package scheduler

import (
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/schedspec"
)

// dueTicks: every tick within the window, the policy before it, and a next
// run after now, however long the outage.
func TestDueTicks(t *testing.T) {
	sec, err := schedspec.Parse("", time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 300_000_000, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for _, c := range []struct {
		name      string
		first     time.Time
		policy    naq.CatchUp
		window    time.Duration
		n         int           // ticks enqueued
		head      time.Time     // the first of them
		secondGap time.Duration // from the first to the second, if any
	}{
		{"on time", at(-300 * time.Millisecond), naq.CatchUpOne, time.Minute, 1, at(-300 * time.Millisecond), 0},
		{"failover of 5 s: all", at(-5300 * time.Millisecond), naq.CatchUpOne, time.Minute, 6, at(-5300 * time.Millisecond), time.Second},
		{"no window: one", at(-5300 * time.Millisecond), naq.CatchUpOne, 0, 1, at(-5300 * time.Millisecond), 0},
		{"no window: all", at(-5300 * time.Millisecond), naq.CatchUpAll, 0, 6, at(-5300 * time.Millisecond), time.Second},
		// An hour down: the first missed tick, then the 60 in the last minute.
		{"hour, one", at(-time.Hour - 300*time.Millisecond), naq.CatchUpOne, time.Minute, 61, at(-time.Hour - 300*time.Millisecond), time.Hour - 59*time.Second},
		// Every missed tick before the window is capped at maxCatchUp.
		{"hour, all", at(-time.Hour - 300*time.Millisecond), naq.CatchUpAll, time.Minute, maxCatchUp + 60, at(-time.Hour - 300*time.Millisecond), time.Second},
		// Ten years of one-second ticks cost no ten years of steps.
		{"decade, one", at(-10 * 365 * 24 * time.Hour), naq.CatchUpOne, time.Minute, 61, at(-10 * 365 * 24 * time.Hour), 0},
	} {
		ticks, next := dueTicks(sec, c.first, c.policy, now, c.window)
		if len(ticks) != c.n || !ticks[0].Equal(c.head) {
			t.Errorf("%s: %d ticks from %s, want %d from %s", c.name, len(ticks), ticks[0], c.n, c.head)
			continue
		}
		if c.secondGap != 0 && ticks[1].Sub(ticks[0]) != c.secondGap {
			t.Errorf("%s: second tick %s after the first, want %s", c.name, ticks[1].Sub(ticks[0]), c.secondGap)
		}
		last := ticks[len(ticks)-1]
		if last.After(now) || !next.After(now) || next.Add(-time.Second).After(now) || next.Sub(c.first)%time.Second != 0 {
			t.Errorf("%s: last tick %s, next %s (now %s)", c.name, last, next, now)
		}
		for i := 1; i < len(ticks); i++ {
			if !ticks[i].After(ticks[i-1]) {
				t.Errorf("%s: ticks out of order at %d", c.name, i)
			}
		}
	}
}
