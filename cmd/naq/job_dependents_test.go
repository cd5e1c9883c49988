package main

import (
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
)

// 'naq job dependents' lists the jobs that wait for a job, with their states,
// as a table and as JSON; a job nothing waits for says so; a bad id is a
// usage error.
func TestJobDependents(t *testing.T) {
	e := newOpsEnv(t)
	e.ok(t, "enqueue", "load", "-q", "nobody", "--job-id", "load-1")
	e.ok(t, "enqueue", "report", "-q", "nobody", "--job-id", "report-1", "--depends-on", "load-1")
	e.ok(t, "enqueue", "mail", "-q", "nobody", "--job-id", "mail-1", "--depends-on", "load-1,report-1")
	var rows []naq.Dependent
	// The index's entries are stored beside their jobs, not before the
	// enqueue returns.
	testutil.Eventually(t, 10*time.Second, "both dependents of load-1", func() bool {
		rows = nil
		e.json(t, &rows, "job", "dependents", "load-1")
		return len(rows) == 2
	})
	if rows[0] != (naq.Dependent{JobID: "mail-1", Name: "mail", State: naq.StatePending}) || rows[1] != (naq.Dependent{JobID: "report-1", Name: "report", State: naq.StatePending}) {
		t.Errorf("dependents of load-1: %+v", rows)
	}
	out := e.ok(t, "job", "dependents", "report-1")
	if !strings.Contains(out, "JOB ID") || !strings.Contains(out, "mail-1") || strings.Contains(out, "report-1 ") {
		t.Errorf("table:\n%s", out)
	}
	if out := e.ok(t, "job", "dependents", "mail-1"); strings.TrimSpace(out) != "no job waits for mail-1" {
		t.Errorf("a job nothing waits for: %q", out)
	}
	e.exits(t, 2, "job", "dependents", "a.b")
}
