package worker_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

func newShared(t *testing.T) (*env, *worker.Shared) {
	t.Helper()
	e := newEnv(t)
	sh, err := worker.NewShared(e.nc, worker.Config{}, testutil.Logger(), worker.NewIdentity("unit"))
	if err != nil {
		t.Fatal(err)
	}
	return e, sh
}

// The job status manager works on its own: results and status records
// written through it read back through it and through the client, and
// dependencies are judged from them.
func TestJobStatusManagerOnItsOwn(t *testing.T) {
	e, sh := newShared(t)
	ctx := t.Context()
	m, err := worker.NewJobStatusManager(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	done, _ := naq.NewJob("tasks:a", nil, naq.JobID("dep-done"))
	bad, _ := naq.NewJob("tasks:a", nil, naq.JobID("dep-failed"))
	now := time.Now().UTC().Truncate(time.Millisecond)
	msg := "boom"
	results := map[*naq.Job]*naq.Result{
		done: {Status: naq.StateCompleted, JobID: done.ID, Name: done.Name, Value: []byte(`{"n":1}`), Attempts: 1, FinishedAt: now},
		bad:  {Status: naq.StateFailed, JobID: bad.ID, Name: bad.Name, Value: []byte("null"), Error: &msg, ErrorKind: "tasks:Boom", Attempts: 2, FinishedAt: now},
	}
	for job, res := range results {
		if err := m.StoreResult(ctx, job, res); err != nil {
			t.Fatal(err)
		}
		got, err := m.Result(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(res, got); diff != "" {
			t.Errorf("result of %s read back (-stored +read):\n%s", job.ID, diff)
		}
		if viaClient, err := e.client.Result(ctx, job.ID); err != nil || viaClient.Status != res.Status {
			t.Errorf("client reads %s: %+v, %v", job.ID, viaClient, err)
		}
	}
	if r, err := m.Result(ctx, "nothing-here"); err != nil || r != nil {
		t.Errorf("Result of an unknown job: %+v, %v; want nil, nil", r, err)
	}

	st := &naq.JobStatus{JobID: "waiting", State: naq.StateRetrying, Name: "tasks:a", Attempts: 1, MaxRetries: 3, Naks: 1}
	if err := m.SetStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := m.Status(ctx, "waiting")
	if err != nil || got == nil {
		t.Fatalf("Status: %+v, %v", got, err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("status read back (-written +read):\n%s", diff)
	}

	for _, c := range []struct {
		deps  []string
		state worker.DependencyState
		on    string
	}{
		{[]string{"dep-done"}, worker.DepsReady, ""},
		{[]string{"dep-done", "dep-failed"}, worker.DepsFailed, "dep-failed"},
		{[]string{"dep-done", "waiting"}, worker.DepsWaiting, "waiting"},
		{[]string{"never-enqueued"}, worker.DepsWaiting, "never-enqueued"},
	} {
		job, _ := naq.NewJob("tasks:b", nil, naq.DependsOn(c.deps...))
		state, on, err := m.CheckDependencies(ctx, job)
		if err != nil || state != c.state || on != c.on {
			t.Errorf("dependencies %v: %v on %q (%v); want %v on %q", c.deps, state, on, err, c.state, c.on)
		}
	}
}

// The failed-job handler works on its own: a record it writes is listed by
// the client with every field, and writing the same failure again (a retried
// write after a crash) does not record it twice.
func TestFailedJobHandlerOnItsOwn(t *testing.T) {
	e, sh := newShared(t)
	ctx := t.Context()
	h, err := worker.NewFailedJobHandler(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	rec := &naq.FailedJob{
		JobID: "j1", Name: "tasks:a", Queue: "mail", Error: "boom", ErrorKind: "tasks:Boom", Traceback: "tb",
		Attempts: 3, MaxRetries: 2, Job: []byte(`{"job_id":"j1","function":"tasks:a"}`), Subject: "naq.queue.mail", StreamSeq: 42,
	}
	for range 2 {
		if err := h.Record(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.client.ListFailed(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d records after the same failure was written twice; want 1", len(list))
	}
	got := list[0]
	if got.WorkerID != sh.Identity.ID || got.FailedAt.IsZero() {
		t.Errorf("worker %q, failed at %v: want this worker and a time", got.WorkerID, got.FailedAt)
	}
	want := *rec
	want.Seq, want.WorkerID, want.FailedAt = got.Seq, got.WorkerID, got.FailedAt
	if diff := cmp.Diff(&want, &got); diff != "" {
		t.Errorf("failed record (-written +listed):\n%s", diff)
	}
}
