package main

import (
	"strings"
	"testing"
)

// Replicas change only when asked, and a count the server cannot give is
// refused with its reason.
func TestReplicasCommand(t *testing.T) {
	e := newOpsEnv(t)
	if out := e.ok(t, "replicas", "1", "--yes"); !strings.Contains(out, "already has 1 replicas") {
		t.Errorf("replicas 1 on a single server: %q", out)
	}
	if errOut := e.exits(t, 1, "replicas", "3", "--yes"); !strings.Contains(errOut, "replicas") {
		t.Errorf("replicas 3 on a single server: %q", errOut)
	}
	if errOut := e.exits(t, 2, "replicas", "0", "--yes"); !strings.Contains(errOut, "1 to 5") {
		t.Errorf("replicas 0: %q", errOut)
	}
	if errOut := e.exits(t, 2, "replicas", "3"); !strings.Contains(errOut, "--yes") {
		t.Errorf("replicas without --yes and no terminal: %q", errOut)
	}
}
