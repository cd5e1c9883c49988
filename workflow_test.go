package naq_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

func TestWorkflowWithAnInvalidStepEnqueuesNothing(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	cases := map[string]naq.Flow{
		"bad queue":     naq.Chain(naq.Step("a", nil), naq.Step("b", nil, naq.Queue("no.dots"))),
		"bad arguments": naq.Group(naq.Step("a", nil), naq.Step("b", naq.Args{func() {}})),
		"empty group":   naq.Chain(naq.Step("a", nil), naq.Group()),
		"nil step":      naq.Chain(naq.Step("a", nil), nil),
	}
	for name, f := range cases {
		_, err := c.EnqueueWorkflow(ctx, f, naq.WorkflowID("wf-"+strings.ReplaceAll(name, " ", "-")))
		if err == nil || !strings.Contains(err.Error(), "nothing was enqueued") {
			t.Errorf("%s: %v; want an error saying nothing was enqueued", name, err)
		}
	}
	if n := storedJobs(t, c); n != 0 {
		t.Fatalf("%d jobs stored by invalid workflows", n)
	}
	if _, err := c.Workflow(ctx, "wf-bad-queue"); !errors.Is(err, naq.ErrWorkflowNotFound) {
		t.Fatalf("record of an invalid workflow: %v; want ErrWorkflowNotFound", err)
	}
	j, err := naq.NewJob("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueWorkflow(ctx, naq.Chain(j, naq.Step("b", nil), j)); !errors.Is(err, naq.ErrInvalidJob) {
		t.Fatalf("a job used twice: %v; want ErrInvalidJob", err)
	}
}

// The server refuses the batch at its third job (an id it holds already):
// it stores none of the workflow's jobs, and the workflow's id is free again.
func TestWorkflowRefusedByTheServerEnqueuesNothing(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	if _, err := c.Enqueue(ctx, "taken", nil, naq.JobID("taken")); err != nil {
		t.Fatal(err)
	}
	taken, err := naq.NewJob("c", nil, naq.JobID("taken"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.EnqueueWorkflow(ctx, naq.Chain(naq.Step("a", nil), naq.Step("b", nil), taken, naq.Step("d", nil)), naq.WorkflowID("wf1"))
	if err == nil {
		t.Fatal("a workflow reusing a stored job id was enqueued")
	}
	if n := storedJobs(t, c); n != 1 {
		t.Fatalf("%d jobs stored, want only the one enqueued before the workflow", n)
	}
	if _, err := c.Workflow(ctx, "wf1"); !errors.Is(err, naq.ErrWorkflowNotFound) {
		t.Fatalf("record of a refused workflow: %v; want ErrWorkflowNotFound", err)
	}
	wf, err := c.EnqueueWorkflow(ctx, naq.Chain(naq.Step("a", nil), naq.Step("b", nil)), naq.WorkflowID("wf1"))
	if err != nil {
		t.Fatalf("the id of a refused workflow cannot be used again: %v", err)
	}
	if n := storedJobs(t, c); n != 3 {
		t.Fatalf("%d jobs stored, want 3", n)
	}
	if _, err := c.EnqueueWorkflow(ctx, naq.Step("a", nil), naq.WorkflowID(wf.ID)); !errors.Is(err, naq.ErrWorkflowExists) {
		t.Fatalf("a second workflow with the same id: %v; want ErrWorkflowExists", err)
	}
	if n := storedJobs(t, c); n != 3 {
		t.Fatalf("%d jobs stored after a refused duplicate, want 3", n)
	}
}

func TestWorkflowRecordAndJobs(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	wf, err := c.EnqueueWorkflow(ctx, naq.Chain(
		naq.Step("fetch", nil, naq.Queue("io")),
		naq.Group(naq.Step("resize", naq.Args{1}), naq.Step("resize", naq.Args{2})).Then(naq.Step("zip", nil), naq.AlsoOnFailure()),
	), naq.WorkflowID("photos-7"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Workflow(ctx, "photos-7")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != naq.StatePending || !got.Enqueued || len(got.Steps) != 4 {
		t.Fatalf("workflow %s, enqueued %v, %d steps; want pending, true, 4", got.State, got.Enqueued, len(got.Steps))
	}
	fetch, r1, r2, zip := got.Steps[0], got.Steps[1], got.Steps[2], got.Steps[3]
	if fetch.Queue != "io" || r1.Queue != naq.DefaultQueue || fetch.Path != "1" || r1.Path != "2.1" || zip.Path != "2.then" {
		t.Fatalf("steps %+v", got.Steps)
	}
	if strings.Join(r1.DependsOn, ",") != fetch.JobID || strings.Join(zip.DependsOn, ",") != r1.JobID+","+r2.JobID {
		t.Fatalf("dependencies: resize %v, zip %v", r1.DependsOn, zip.DependsOn)
	}
	if !zip.AllowFailedDependencies || r1.AllowFailedDependencies {
		t.Fatalf("only the callback made AlsoOnFailure runs on failed dependencies: %+v", got.Steps)
	}
	for i, s := range got.Steps {
		if s.State != naq.StatePending || s.JobID != wf.Steps[i].JobID {
			t.Errorf("step %s: %s %s", s.Path, s.JobID, s.State)
		}
	}
	// The stored jobs carry the workflow: the zip job, as a Python worker
	// would read it too, with the new fields beside the usual ones.
	cons, err := c.JetStream().CreateOrUpdateConsumer(ctx, "naq_jobs", jetstream.ConsumerConfig{FilterSubject: "naq.queue." + naq.DefaultQueue})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(3)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for m := range batch.Messages() {
		if bytes.Contains(m.Data(), []byte(`"function":"zip"`)) {
			raw = m.Data()
		}
	}
	j, err := naq.DecodeJob(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if j.Workflow == nil || j.Workflow.ID != "photos-7" || !j.Workflow.AllowFailedDependencies || len(j.DependsOn) != 2 {
		t.Fatalf("stored callback job %s", raw)
	}
	if _, err := c.Workflow(ctx, "no-such-workflow"); !errors.Is(err, naq.ErrWorkflowNotFound) {
		t.Fatalf("unknown workflow: %v", err)
	}
}

// A job outside any workflow is encoded as before: no new field, so its
// bytes are what Python naq writes.
func TestWorkflowFieldsOnlyWhenSet(t *testing.T) {
	j, err := naq.NewJob("plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte("workflow")) || bytes.Contains(plain, []byte("allow_failed")) {
		t.Fatalf("a plain job carries workflow fields: %s", plain)
	}
	j.Workflow = &naq.WorkflowLink{ID: "wf-1", AllowFailedDependencies: true}
	data, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := naq.DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Workflow == nil || back.Workflow.ID != "wf-1" || !back.Workflow.AllowFailedDependencies {
		t.Fatalf("round trip lost the workflow fields: %s", data)
	}
	for _, bad := range []string{`"workflow_id":7`, `"workflow_id":"a.b"`, `"allow_failed_dependencies":"yes"`} {
		in := `{"job_id":"x1","function":"f",` + bad + `}`
		if _, err := naq.DecodeJob([]byte(in)); !errors.Is(err, naq.ErrMalformedJob) {
			t.Errorf("%s: %v; want ErrMalformedJob", in, err)
		}
	}
}

// testdata/wire/workflow-step.json is a group callback made AlsoOnFailure,
// as naq-go writes it: every field Python naq reads, then the two it ignores.
func TestWorkflowStepVector(t *testing.T) {
	data, err := os.ReadFile("testdata/wire/workflow-step.json")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.TrimSpace(data)
	j, err := naq.DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	if j.Workflow == nil || j.Workflow.ID != "crawl-1" || !j.Workflow.AllowFailedDependencies || len(j.DependsOn) != 2 || j.Name != "report:sum" {
		t.Fatalf("decoded %+v", j)
	}
	again, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("encoded again:\n%s\nwant\n%s", again, data)
	}
}

// A client that writes pending records writes them for a workflow's jobs
// too, so Status knows every step before a worker takes it.
func TestWorkflowPendingRecords(t *testing.T) {
	c, _ := newClient(t, naq.WithPendingRecords())
	wf, err := c.EnqueueWorkflow(t.Context(), naq.Chain(naq.Step("a", nil), naq.Step("b", nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range wf.Steps {
		st, err := c.Status(t.Context(), s.JobID)
		if err != nil || st.State != naq.StatePending || st.Name != s.Name {
			t.Fatalf("status of step %s: %+v, %v", s.Path, st, err)
		}
	}
}
