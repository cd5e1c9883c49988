package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jobs.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pendingOn(t *testing.T, e *opsEnv, queue string) float64 {
	t.Helper()
	var stats []map[string]any
	e.json(t, &stats, "queue", "stats", queue, "--interval", "0")
	return stats[0]["pending"].(float64)
}

// Item: 'naq enqueue --file' enqueues JSON lines in bulk; every line is
// checked first, a bad one is reported by number and nothing is sent; the
// final count is printed, and no progress is drawn when stderr is no terminal.
func TestEnqueueFile(t *testing.T) {
	e := newOpsEnv(t)
	var lines []string
	for i := range 1200 { // more than one chunk
		switch {
		case i == 7:
			lines = append(lines, `{"name": "bulk:job", "args": [7], "job_id": "line-8", "max_retries": 5, "timeout": "30s"}`)
		case i == 8:
			lines = append(lines, "", `{"function": "py.mod:func", "kwargs": {"n": 8}, "queue": "bulk-other"}`)
		default:
			lines = append(lines, fmt.Sprintf(`{"name": "bulk:job", "args": [%d]}`, i))
		}
	}
	path := writeLines(t, lines...)
	out, errOut, code := e.run(t, "enqueue", "--file", path, "-q", "bulk", "--retries", "2")
	if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("enqueued 1200 jobs from %s", path) || strings.Contains(errOut, "\r") {
		t.Fatalf("enqueue --file: exit %d\n%s\n%q", code, out, errOut)
	}
	if n := pendingOn(t, e, "bulk"); n != 1199 {
		t.Errorf("%v jobs on bulk, want 1199", n)
	}
	if n := pendingOn(t, e, "bulk-other"); n != 1 {
		t.Errorf("%v jobs on bulk-other, want 1", n)
	}
	var st map[string]any
	e.json(t, &st, "job", "status", "line-8")
	if st["state"] != "pending" || st["max_retries"] != float64(5) || st["queue_name"] != "bulk" {
		t.Errorf("the job of line 8: %v", st)
	}

	// Bad files: the line is named, nothing is sent.
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{`{"name": "a"}`, `{"name": "b"}`, `{"name": "c", "args": [1,}`}, "line 3: not a job object"},
		{[]string{`{"name": "a"}`, `{"name": "b", "retries": 3}`}, `line 2: not a job object: json: unknown field "retries"`},
		{[]string{`{"name": "a", "args": {"x": 1}}`}, "line 1: args must be a JSON array"},
		{[]string{`{"args": [1]}`}, `line 1: no "name"`},
		{[]string{`{"name": "a", "queue": "bad queue"}`}, "line 1:"},
		{[]string{`{"name": "a", "timeout": "soon"}`}, `line 1: timeout "soon"`},
		{[]string{`{"name": "a", "job_id": "x"}`, `{"name": "b", "job_id": "x"}`}, "line 2: job_id x is already on line 1"},
		{[]string{``}, "has no jobs"},
	} {
		_, errOut, code := e.run(t, "enqueue", "--file", writeLines(t, tc.lines...), "-q", "refused")
		if code != exitUsage || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "nothing was enqueued") {
			t.Errorf("bad file %q: exit %d, want 2 and %q:\n%s", tc.lines, code, tc.want, errOut)
		}
	}
	if out := e.ok(t, "queue", "list"); strings.Contains(out, "refused") {
		t.Errorf("a bad file enqueued jobs:\n%s", out)
	}
	e.exits(t, 2, "enqueue", "--file", filepath.Join(t.TempDir(), "missing.jsonl"))

	// The old --job-timeout name is noted once, not once per line.
	_, errOut, code = e.run(t, "enqueue", "--file", writeLines(t, `{"name": "a"}`, `{"name": "b"}`, `{"name": "c"}`), "-q", "old", "--job-timeout", "5s")
	if code != 0 || strings.Count(errOut, "--job-timeout is now --timeout") != 1 {
		t.Errorf("enqueue --file --job-timeout: exit %d\n%s", code, errOut)
	}

	// From stdin, with --json.
	out, errOut, code = e.runPiped(t, `{"name": "a"}`+"\n"+`{"name": "b"}`+"\n", "enqueue", "--file", "-", "-q", "piped", "--json")
	if code != 0 || !strings.Contains(out, `"enqueued": 2`) {
		t.Errorf("enqueue --file - --json: exit %d\n%s\n%s", code, out, errOut)
	}
}

// Item: on a terminal, a long operation draws a progress bar (and still ends
// with the count).
func TestEnqueueFileProgressOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to give naq a terminal")
	}
	e := newOpsEnv(t)
	var lines []string
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf(`{"name": "bar:job", "args": [%d]}`, i))
	}
	path := writeLines(t, lines...)
	cmd := exec.Command(script, "-qec", naqBin+" enqueue --file "+path+" -q bar", "/dev/null")
	cmd.Env = naqEnv(e.env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("naq on a terminal: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "enqueueing") || !strings.Contains(string(out), "enqueued 3000 jobs") {
		t.Errorf("no progress bar or no final count on a terminal:\n%q", out)
	}
	if n := pendingOn(t, e, "bar"); n != 3000 {
		t.Errorf("%v jobs, want 3000", n)
	}
}
