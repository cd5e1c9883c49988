package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/naqgo/naq"
)

func TestScheduleAddListShow(t *testing.T) {
	e := newOpsEnv(t)
	if out := e.ok(t, "schedule", "list"); !strings.Contains(out, "no schedules") {
		t.Errorf("empty list: %s", out)
	}
	out := e.ok(t, "schedule", "add", "reports:build", "--every", "1h", "--id", "hourly", "-q", "reports",
		"--args", `[1, "two"]`, "--kwargs", `{"team": "ops"}`, "--repeat", "3", "--max-retries", "2")
	if !strings.Contains(out, "added schedule hourly: reports:build on queue reports, every 1h0m0s") {
		t.Errorf("add: %s", out)
	}
	var added map[string]any
	e.json(t, &added, "schedule", "add", "tz:job", "--cron", "30 6 * * 1-5", "--tz", "Europe/Berlin", "--catch-up-all",
		"--start", "2030-01-02T03:04:05Z")
	opsHasKeys(t, "schedule add --json", added, "schedule_id", "function", "queue_name", "cron", "time_zone", "status",
		"next_run_utc", "repeat", "catch_up", "schedule_failure_count", "max_failures", "job")
	if added["catch_up"] != "all" || added["next_run_utc"] != "2030-01-02T03:04:05Z" || added["queue_name"] != naq.DefaultQueue {
		t.Errorf("add --json: %v", added)
	}

	out = e.ok(t, "schedule", "list")
	for _, want := range []string{"ID", "FUNCTION", "QUEUE", "STATE", "SCHEDULE", "NEXT RUN", "LAST RUN", "REPEATS LEFT", "FAILURES",
		"hourly", "reports:build", "every 1h0m0s", `cron "30 6 * * 1-5" Europe/Berlin`, "unlimited", "0/5", "2030-01-02T03:04:05Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("schedule list: no %q in\n%s", want, out)
		}
	}
	var list []map[string]any
	e.json(t, &list, "schedule", "list")
	if len(list) != 2 || list[0]["schedule_id"] != "hourly" || list[0]["repeat"] != float64(3) {
		t.Errorf("list --json (next due first): %v", list)
	}

	out = e.ok(t, "schedule", "show", "hourly")
	for _, want := range []string{"id:", "hourly", "repeats left:", "3", `args:`, `[1,"two"]`, `{"team":"ops"}`, "max retries:", "catch up:", "one"} {
		if !strings.Contains(out, want) {
			t.Errorf("schedule show: no %q in\n%s", want, out)
		}
	}
	var one map[string]any
	e.json(t, &one, "schedule", "show", "hourly")
	if one["schedule_id"] != "hourly" || one["status"] != "active" {
		t.Errorf("show --json: %v", one)
	}
	if errOut := e.exits(t, 1, "schedule", "show", "nope"); !strings.Contains(errOut, `no schedule "nope"`) {
		t.Errorf("show of an unknown id: %s", errOut)
	}
	// The id is taken.
	if errOut := e.exits(t, 1, "schedule", "add", "x", "--every", "1m", "--id", "hourly"); !strings.Contains(errOut, "already exists") {
		t.Errorf("add of a taken id: %s", errOut)
	}
}

func TestScheduleBadInput(t *testing.T) {
	e := newOpsEnv(t)
	for _, args := range [][]string{
		{"add", "x", "--cron", "not a cron"},
		{"add", "x", "--cron", "61 * * * *"},
		{"add", "x", "--every", "10ms"},
		{"add", "x", "--every", "-1m"},
		{"add", "x", "--every", "soon"},
		{"add", "x", "--cron", "0 * * * *", "--tz", "Mars/Olympus"},
		{"add", "x", "--every", "1m", "--repeat", "0"},
		{"add", "x", "--every", "1m", "--max-failures", "-1"},
		{"add", "x"},
		{"add", "x", "--cron", "0 * * * *", "--every", "1m"},
		{"add", "--every", "1m"},
		{"add", "x", "--every", "1m", "--args", `{"a":1}`},
		{"add", "x", "--every", "1m", "--kwargs", `[1]`},
		{"add", "x", "--every", "1m", "--id", "bad id"},
		{"add", "x", "--every", "1m", "--start", "tomorrow"},
		{"add", "x", "--every", "1m", "-q", "bad.queue"},
		{"list", "--state", "sleeping"},
		{"modify", "whatever"},
	} {
		e.exits(t, 2, append([]string{"schedule"}, args...)...)
	}
	// An id too long for its occurrences' ids, and a cron that never fires,
	// are refused with the reason.
	long := strings.Repeat("s", naq.MaxScheduleIDLen+1)
	if errOut := e.exits(t, 2, "schedule", "add", "x", "--every", "1m", "--id", long); !strings.Contains(errOut, "at most 184") {
		t.Errorf("add with a %d-character id: %s", len(long), errOut)
	}
	if errOut := e.exits(t, 2, "schedule", "add", "x", "--cron", "0 0 30 2 *"); !strings.Contains(errOut, "never fires") {
		t.Errorf("add with a cron for February 30: %s", errOut)
	}
	var list []map[string]any
	e.json(t, &list, "schedule", "list")
	if len(list) != 0 {
		t.Errorf("bad input left schedules: %v", list)
	}
}

func TestScheduleStateAndModify(t *testing.T) {
	e := newOpsEnv(t)
	e.ok(t, "schedule", "add", "m:job", "--every", "1h", "--id", "s1")

	if out := e.ok(t, "schedule", "pause", "s1"); !strings.Contains(out, "schedule s1 is paused") {
		t.Errorf("pause: %s", out)
	}
	if out := e.ok(t, "schedule", "list", "--state", "paused"); !strings.Contains(out, "s1") {
		t.Errorf("list --state paused: %s", out)
	}
	var res []map[string]any
	e.json(t, &res, "schedule", "resume", "s1")
	if len(res) != 1 || res[0]["status"] != "active" {
		t.Errorf("resume --json: %v", res)
	}

	out := e.ok(t, "schedule", "modify", "s1", "--cron", "0 9 * * *", "--tz", "America/New_York", "--repeat", "4")
	if !strings.Contains(out, `schedule s1: cron "0 9 * * *" America/New_York`) {
		t.Errorf("modify: %s", out)
	}
	s := map[string]any{}
	e.json(t, &s, "schedule", "modify", "s1", "--next-run", "2031-05-06T07:08:09Z")
	if s["next_run_utc"] != "2031-05-06T07:08:09Z" || s["cron"] != "0 9 * * *" || s["repeat"] != float64(4) {
		t.Errorf("modify --next-run: %v", s)
	}
	s = map[string]any{}
	e.json(t, &s, "schedule", "modify", "s1", "--every", "90s")
	if s["interval_ns"] != float64(90*time.Second) || s["cron"] != nil {
		t.Errorf("modify --every: %v", s)
	}
	for _, args := range [][]string{
		{"s1", "--cron", "bad"},
		{"s1", "--tz", "Nowhere/Land"},
		{"s1", "--repeat", "0"},
		{"s1", "--every", "1ms"},
		{"s1", "--cron", "0 * * * *", "--every", "1m"},
		{"s1", "--next-run", "later"},
		{"s1"},
	} {
		e.exits(t, 2, append([]string{"schedule", "modify"}, args...)...)
	}
	if errOut := e.exits(t, 1, "schedule", "modify", "ghost", "--every", "1m"); !strings.Contains(errOut, `no schedule "ghost"`) {
		t.Errorf("modify of an unknown id: %s", errOut)
	}
	for _, op := range []string{"pause", "resume", "cancel"} {
		if errOut := e.exits(t, 1, "schedule", op, "ghost"); !strings.Contains(errOut, `no schedule "ghost"`) {
			t.Errorf("%s of an unknown id: %s", op, errOut)
		}
	}

	if out := e.ok(t, "schedule", "cancel", "s1", "--yes"); !strings.Contains(out, "schedule s1 is cancelled") {
		t.Errorf("cancel: %s", out)
	}
	// A cancelled schedule cannot be paused or resumed; its id can be reused.
	e.exits(t, 1, "schedule", "pause", "s1")
	e.exits(t, 1, "schedule", "resume", "s1")
	e.ok(t, "schedule", "add", "m:job", "--every", "1h", "--id", "s1")
}

func TestScheduleDelayed(t *testing.T) {
	e := newOpsEnv(t)
	if out := e.ok(t, "schedule", "delayed"); !strings.Contains(out, "no delayed jobs") {
		t.Errorf("delayed, none: %s", out)
	}
	j, err := e.client.EnqueueIn(t.Context(), time.Hour, "later:job", naq.Args{1}, naq.Queue("dq"))
	if err != nil {
		t.Fatal(err)
	}
	out := e.ok(t, "schedule", "delayed")
	for _, want := range []string{"JOB ID", "RUN AT", j.ID, "later:job", "dq", "in "} {
		if !strings.Contains(out, want) {
			t.Errorf("delayed: no %q in\n%s", want, out)
		}
	}
	var list []map[string]any
	e.json(t, &list, "schedule", "delayed")
	if len(list) != 1 {
		t.Fatalf("delayed --json: %v", list)
	}
	opsHasKeys(t, "delayed job", list[0], "job_id", "function", "queue", "run_at", "seq", "attempts", "args", "kwargs")
	if list[0]["job_id"] != j.ID {
		t.Errorf("delayed --json: %v", list[0])
	}
	e.exits(t, 2, "schedule", "delayed", "--limit", "-2")
}

// naq scheduler leads and enqueues the occurrences of a schedule added with
// naq schedule add; it stops cleanly on SIGTERM.
func TestSchedulerRunsSchedules(t *testing.T) {
	e := newOpsEnv(t)
	e.ok(t, "schedule", "add", "tick:job", "--every", "1s", "--repeat", "2", "--id", "tick", "-q", "ticks")
	e.exits(t, 2, "scheduler", "--lock-ttl", "100ms")

	cmd := exec.Command(naqBin, "scheduler", "--lock-ttl", "2s", "--instance-id", "sched-a")
	cmd.Env = naqEnv(e.env)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	opsWaitFor(t, 20*time.Second, "two occurrences on queue ticks", func() bool {
		var stats []map[string]any
		e.json(t, &stats, "queue", "stats", "ticks", "--interval", "0")
		return stats[0]["pending"] == float64(2)
	})
	if !strings.Contains(out.String(), "scheduler sched-a: leading") {
		t.Errorf("scheduler output:\n%s\n%s", out.String(), errb.String())
	}
	// Its repeats used up, the schedule is removed; no third occurrence.
	opsWaitFor(t, 10*time.Second, "the finished schedule to go", func() bool {
		_, _, code := e.run(t, "schedule", "show", "tick")
		return code == 1
	})
	time.Sleep(1500 * time.Millisecond)
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", "ticks", "--interval", "0")
	if stats[0]["pending"] != float64(2) {
		t.Errorf("after the last repeat: %v", stats[0])
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("scheduler exit: %v\n%s", waitErr, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("scheduler did not stop on SIGTERM")
	}
	if !strings.Contains(out.String(), "scheduler sched-a: stopped") {
		t.Errorf("scheduler output at exit:\n%s", out.String())
	}
}
