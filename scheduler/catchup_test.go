package scheduler_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/scheduler"
)

// Of the ticks missed before the catch-up window, the default policy runs one
// (the first), CatchUpMissed every one; every tick within the window runs
// under both.
func TestCatchUpPolicies(t *testing.T) {
	e := newEnv(t)
	past := time.Now().Add(-5500 * time.Millisecond).Truncate(time.Millisecond) // five whole ticks ago, and a half
	one, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.StartAt(past),
		naq.ScheduleID("catch-one"), naq.WithJobOptions(naq.Queue("one")))
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.StartAt(past), naq.CatchUpMissed(),
		naq.ScheduleID("catch-all"), naq.WithJobOptions(naq.Queue("all")))
	if err != nil {
		t.Fatal(err)
	}
	in := e.start(t, "solo", 2*time.Second, nil, scheduler.WithCatchUpWindow(2*time.Second))
	testutil.Eventually(t, 10*time.Second, "both caught up", func() bool {
		a, err1 := e.client.GetSchedule(t.Context(), one.ID)
		b, err2 := e.client.GetSchedule(t.Context(), all.ID)
		return err1 == nil && err2 == nil && !a.LastRun.IsZero() && !b.LastRun.IsZero()
	})
	in.stop()
	// Ticks p, p+1 s, ... p+5 s were due at the start; the first three after
	// p are before the 2 s window whenever the catch-up ran.
	p := past.UnixMilli()
	gotOne, gotAll := tickTimes(t, occurrences(t, e, "one")), tickTimes(t, occurrences(t, e, "all"))
	t.Logf("default: %v; all missed: %v (ms after the first due tick)", offsets(gotOne, p), offsets(gotAll, p))
	if len(gotOne) < 3 || gotOne[0] != p || gotOne[1] < p+4000 {
		t.Errorf("default policy ran %v, want the first tick, then the two in the window and any due since", offsets(gotOne, p))
	}
	if len(gotAll) < 6 || gotAll[0] != p {
		t.Errorf("catch-up-all ran %v, want every tick from the first", offsets(gotAll, p))
	}
	consecutive(t, "default policy, from the window on", gotOne[1:])
	consecutive(t, "catch-up-all", gotAll)
}

// A scheduler refuses a catch-up window it cannot keep free of duplicates.
func TestCatchUpWindowBounds(t *testing.T) {
	nc := newEnv(t).nc
	for _, d := range []time.Duration{-time.Second, scheduler.MaxCatchUpWindow + time.Millisecond, 5 * time.Minute} {
		if _, err := scheduler.New(nc, scheduler.WithCatchUpWindow(d)); err == nil || !strings.Contains(err.Error(), "catch-up window") {
			t.Errorf("window %s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{0, time.Second, scheduler.MaxCatchUpWindow} {
		if _, err := scheduler.New(nc, scheduler.WithCatchUpWindow(d)); err != nil {
			t.Errorf("window %s: %v", d, err)
		}
	}
}

// tickTimes returns the due times (Unix ms) in occurrence ids, sorted.
func tickTimes(t *testing.T, ids []string) []int64 {
	t.Helper()
	var ms []int64
	for _, id := range ids {
		v, err := strconv.ParseInt(id[strings.LastIndexByte(id, '-')+1:], 10, 64)
		if err != nil {
			t.Fatalf("occurrence id %q: %v", id, err)
		}
		ms = append(ms, v)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	return ms
}

func offsets(ms []int64, base int64) []int64 {
	out := make([]int64, len(ms))
	for i, v := range ms {
		out[i] = v - base
	}
	return out
}

// consecutive fails unless the 1 s ticks ms follow each other with no gap and
// no duplicate.
func consecutive(t *testing.T, what string, ms []int64) {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		if d := ms[i] - ms[i-1]; d != 1000 {
			t.Errorf("%s: step of %d ms between ticks %d and %d (a gap or a duplicate)", what, d, ms[i-1], ms[i])
		}
	}
}
