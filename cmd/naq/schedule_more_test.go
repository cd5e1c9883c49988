package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/scheduler"
)

// Item: schedules tell the truth: 'schedule add' says when no scheduler runs,
// 'schedule list' flags a next run in the past, 'schedule delete' removes a
// schedule for good (after asking), and 'schedule cancel' asks first.
func TestScheduleAddWarnsListFlagsDelete(t *testing.T) {
	e := newOpsEnv(t)
	_, errOut, code := e.run(t, "schedule", "add", "r:job", "--every", "1h", "--id", "lonely")
	if code != 0 || !strings.Contains(errOut, "no scheduler is running") {
		t.Errorf("schedule add without a scheduler: exit %d: %s", code, errOut)
	}
	// A next run long past, as when no scheduler ran: flagged in list and show.
	if _, err := e.client.UpdateSchedule(t.Context(), "lonely", func(s *naq.Schedule) error {
		s.NextRun = time.Now().Add(-10 * time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out := e.ok(t, "schedule", "list"); !strings.Contains(out, "overdue") || !strings.Contains(out, "is a scheduler running?") {
		t.Errorf("schedule list does not flag a past next run:\n%s", out)
	}
	if out := e.ok(t, "schedule", "show", "lonely"); !strings.Contains(out, "overdue") {
		t.Errorf("schedule show does not flag a past next run:\n%s", out)
	}

	// With a scheduler leading, no note; the schedule it just fired is not
	// flagged.
	s, err := scheduler.New(e.nc, scheduler.WithLogger(testutil.Logger()), scheduler.WithLockTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	opsWaitFor(t, 20*time.Second, "the scheduler to fire the overdue schedule", func() bool {
		return !strings.Contains(e.ok(t, "schedule", "list"), "overdue")
	})
	if _, errOut, code := e.run(t, "schedule", "add", "r:job", "--every", "1h", "--id", "served"); code != 0 || strings.Contains(errOut, "no scheduler") {
		t.Errorf("schedule add with a scheduler: exit %d: %s", code, errOut)
	}

	// cancel and delete ask first; an unknown id is refused before asking.
	if errOut := e.exits(t, 2, "schedule", "cancel", "served"); !strings.Contains(errOut, "not confirmed") {
		t.Errorf("schedule cancel without an answer: %s", errOut)
	}
	if errOut := e.exits(t, 1, "schedule", "delete", "ghost"); !strings.Contains(errOut, `no schedule "ghost"`) {
		t.Errorf("schedule delete of an unknown id: %s", errOut)
	}
	if _, errOut, code := e.runPiped(t, "n\n", "schedule", "delete", "served"); code != 1 || !strings.Contains(errOut, "not confirmed") {
		t.Errorf("schedule delete answered n: exit %d: %s", code, errOut)
	}
	if out := e.ok(t, "schedule", "delete", "served", "lonely", "--yes"); !strings.Contains(out, "deleted 2 schedule(s)") {
		t.Errorf("schedule delete: %s", out)
	}
	if out := e.ok(t, "schedule", "list"); strings.TrimSpace(out) != "no schedules" {
		t.Errorf("schedule list after delete:\n%s", out)
	}
	e.exits(t, 1, "schedule", "show", "served")
}
