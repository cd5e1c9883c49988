package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/naqgo/naq"
)

func TestWorkflowShow(t *testing.T) {
	url, c := jobTestServer(t)
	startMathWorker(t, c)
	ctx := jobTestCtx(t)
	wf, err := c.EnqueueWorkflow(ctx, naq.Chain(
		naq.Group(naq.Step("math:add", naq.Args{1, 2}), naq.Step("math:fail", nil)).Then(naq.Step("math:add", naq.Args{3, 3}), naq.AlsoOnFailure()),
		naq.Step("math:add", naq.Args{4, 4}),
	), naq.WorkflowID("nightly-7"))
	if err != nil {
		t.Fatal(err)
	}
	awaitJobResult(t, c, wf.Steps[len(wf.Steps)-1].JobID)

	out, stderr, code := naqAt(t, url, "workflow", "show", "nightly-7")
	if code != 0 {
		t.Fatalf("workflow show: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"workflow", "nightly-7", "state", "failed", "4 (3 completed, 1 failed)", "STEP", "1.1", "1.2", "1.then", "2",
		"math:fail", "division by zero", wf.Steps[3].JobID} {
		if !strings.Contains(out, want) {
			t.Errorf("workflow show: no %q in\n%s", want, out)
		}
	}

	out, stderr, code = naqAt(t, url, "workflow", "show", "--json", "nightly-7")
	var got naq.Workflow
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("workflow show --json: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	if got.ID != "nightly-7" || got.State != naq.StateFailed || len(got.Steps) != 4 || got.Steps[1].State != naq.StateFailed ||
		got.Steps[2].State != naq.StateCompleted || !got.Steps[2].AllowFailedDependencies {
		t.Fatalf("workflow show --json: %s", out)
	}

	if _, stderr, code = naqAt(t, url, "workflow", "show", "no-such-workflow"); code != 1 || !strings.Contains(stderr, "no record of workflow no-such-workflow") {
		t.Fatalf("unknown workflow: exit %d\n%s", code, stderr)
	}
	if _, _, code = naqAt(t, url, "workflow", "show", "bad id!"); code != exitUsage {
		t.Fatalf("invalid id: exit %d, want 2", code)
	}
	if _, _, code = naqAt(t, url, "workflow"); code != exitUsage {
		t.Fatalf("no subcommand: exit %d, want 2", code)
	}
}
