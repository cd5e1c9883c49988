package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark run")
	}
	// No server: naq bench runs its own.
	out, errOut, code := runNaq(t, nil, "bench", "--jobs", "200", "--rounds", "1", "--concurrency", "20")
	if code != 0 {
		t.Fatalf("naq bench: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"scenario", "jobs/s", "enqueue", "bulk", "process", "processed 200 jobs"} {
		if !strings.Contains(out, want) {
			t.Errorf("naq bench: no %q in\n%s", want, out)
		}
	}
	out, errOut, code = runNaq(t, nil, "bench", "--jobs", "100", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("naq bench --json: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("naq bench --json: %v\n%s", err, out)
	}
	opsHasKeys(t, "bench report", rep, "jobs", "rounds", "scenarios", "processed", "results")
	if !strings.Contains(errOut, "scenario") {
		t.Errorf("naq bench --json: no table on stderr:\n%s", errOut)
	}
	// One flag syntax, cobra's, as every other command: -jobs is not --jobs.
	for _, args := range [][]string{{"--jobs", "0"}, {"--jobs", "x"}, {"-jobs", "10"}, {"--nope"}, {"extra"}} {
		if _, errOut, code := runNaq(t, nil, append([]string{"bench"}, args...)...); code != 2 {
			t.Errorf("naq bench %v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}
