package scheduler_test

import (
	"testing"
	"time"

	"github.com/naqgo/naq"
)

// Missed ticks run once by default, or every one with CatchUpMissed.
func TestCatchUpPolicies(t *testing.T) {
	e := newEnv(t)
	past := time.Now().Add(-5500 * time.Millisecond) // five whole ticks ago, and a half
	one, err := e.client.Schedule(ctxT(t), "tick", nil, naq.Every(time.Second), naq.StartAt(past),
		naq.ScheduleID("catch-one"), naq.WithJobOptions(naq.Queue("one")))
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.client.Schedule(ctxT(t), "tick", nil, naq.Every(time.Second), naq.StartAt(past), naq.CatchUpMissed(),
		naq.ScheduleID("catch-all"), naq.WithJobOptions(naq.Queue("all")))
	if err != nil {
		t.Fatal(err)
	}
	in := e.start(t, "solo", 2*time.Second, nil)
	waitFor(t, "both caught up", 10*time.Second, func() bool {
		a, err1 := e.client.GetSchedule(ctxT(t), one.ID)
		b, err2 := e.client.GetSchedule(ctxT(t), all.ID)
		return err1 == nil && err2 == nil && !a.LastRun.IsZero() && !b.LastRun.IsZero()
	})
	in.stop()
	nOne, nAll := len(occurrences(t, e, "one")), len(occurrences(t, e, "all"))
	// The catch-up itself: one run against six (the first tick and the five
	// missed since); a tick or two more may have come due while checking.
	if nOne < 1 || nOne > 3 {
		t.Errorf("default catch-up ran %d times, want 1 (plus at most the ticks due since)", nOne)
	}
	if nAll < 6 || nAll > 8 {
		t.Errorf("catch-up-all ran %d times, want 6 (plus at most the ticks due since)", nAll)
	}
	t.Logf("default: %d runs, all missed: %d runs", nOne, nAll)
}
