package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// trace records the order handlers ran in.
type trace struct {
	mu  sync.Mutex
	ran []string
}

func (tr *trace) add(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ran = append(tr.ran, s)
}

func (tr *trace) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.ran...)
}

func (tr *trace) index(s string) int {
	for i, r := range tr.list() {
		if r == s {
			return i
		}
	}
	return -1
}

// lastStep is the job id of the workflow's last step.
func lastStep(wf *naq.Workflow) string { return wf.Steps[len(wf.Steps)-1].JobID }

func TestWorkflowChainRunsInOrderPassingResults(t *testing.T) {
	e := newEnv(t)
	var tr trace
	first, err := naq.NewJob("wf:first", naq.Args{21})
	if err != nil {
		t.Fatal(err)
	}
	register := func(w *worker.Worker) {
		w.HandleFunc("wf:first", func(ctx context.Context, job *naq.Job) (any, error) {
			var n int
			_ = job.Bind(&n)
			tr.add("first")
			return n, nil
		})
		w.HandleFunc("wf:double", func(ctx context.Context, job *naq.Job) (any, error) {
			tr.add("double")
			n, err := naq.PreviousResult[int](ctx)
			return n * 2, err
		})
		w.HandleFunc("wf:describe", func(ctx context.Context, job *naq.Job) (any, error) {
			tr.add("describe")
			doubled, err := naq.PreviousResult[int](ctx)
			if err != nil {
				return nil, err
			}
			// Only the step before is a dependency: the first step's result
			// is not this step's to read.
			if _, err := naq.DependencyResult[int](ctx, first.ID); !errors.Is(err, naq.ErrNoDependency) {
				return nil, fmt.Errorf("reading a step that is not a dependency: %v", err)
			}
			return fmt.Sprintf("doubled to %d", doubled), nil
		})
	}
	// The steps are enqueued at once: two workers could take them in any
	// order, and the dependencies must hold them back.
	e.startWorker(t, register, worker.WithConcurrency(4))
	e.startWorker(t, register, worker.WithConcurrency(4))
	wf, err := e.client.EnqueueWorkflow(t.Context(), naq.Chain(first, naq.Step("wf:double", nil), naq.Step("wf:describe", nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.wait(t, lastStep(wf)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got != "doubled to 42" {
		t.Fatalf("last step returned %q, want %q", got, "doubled to 42")
	}
	if ran := strings.Join(tr.list(), ","); ran != "first,double,describe" {
		t.Fatalf("steps ran as %s, want first,double,describe", ran)
	}
	st, err := e.client.Workflow(t.Context(), wf.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != naq.StateCompleted || !st.Enqueued || len(st.Steps) != 3 {
		t.Fatalf("workflow state %s, enqueued %v, %d steps; want completed, true, 3", st.State, st.Enqueued, len(st.Steps))
	}
	for i, s := range st.Steps {
		if s.State != naq.StateCompleted || s.Path != fmt.Sprint(i+1) {
			t.Errorf("step %d: path %q state %s; want %d completed", i, s.Path, s.State, i+1)
		}
	}
}

func TestWorkflowChainFailureFailsTheRest(t *testing.T) {
	e := newEnv(t)
	var tr trace
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("wf:ok", func(ctx context.Context, job *naq.Job) (any, error) { tr.add("ok"); return 1, nil })
		w.HandleFunc("wf:boom", func(ctx context.Context, job *naq.Job) (any, error) {
			tr.add("boom")
			return nil, worker.SkipRetry(errors.New("boom"))
		})
		w.HandleFunc("wf:after", func(ctx context.Context, job *naq.Job) (any, error) { tr.add("after"); return nil, nil })
	})
	wf, err := e.client.EnqueueWorkflow(t.Context(), naq.Chain(
		naq.Step("wf:ok", nil), naq.Step("wf:boom", nil), naq.Step("wf:after", nil), naq.Step("wf:after", nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range wf.Steps[2:] {
		res := e.wait(t, s.JobID)
		if res.Status != naq.StateFailed || res.ErrorKind != worker.KindDependencyFailed {
			t.Fatalf("step %s: %s (%s), want failed with %s", s.Path, res.Status, res.ErrorKind, worker.KindDependencyFailed)
		}
	}
	if ran := strings.Join(tr.list(), ","); ran != "ok,boom" {
		t.Fatalf("handlers ran: %s; want ok,boom (the steps after a failure never run)", ran)
	}
	st, err := e.client.Workflow(t.Context(), wf.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != naq.StateFailed || st.Steps[0].State != naq.StateCompleted || st.Steps[1].State != naq.StateFailed {
		t.Fatalf("workflow %s, steps %s/%s; want failed, completed/failed", st.State, st.Steps[0].State, st.Steps[1].State)
	}
}

// Several workflows' callbacks, on three workers: each callback is put back
// while its members wait (so it is delivered more than once, to any of the
// workers), then runs exactly once with all its members' results.
func TestWorkflowGroupCallbackRunsOnceWithAllResults(t *testing.T) {
	e := newEnv(t)
	const flows, members = 6, 5
	release := make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{} // workflow id → callback runs
	sums := map[string]int{}
	register := func(w *worker.Worker) {
		w.HandleFunc("wf:member", func(ctx context.Context, job *naq.Job) (any, error) {
			var n int
			_ = job.Bind(&n)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return n, nil
		})
		w.HandleFunc("wf:sum", func(ctx context.Context, job *naq.Job) (any, error) {
			vs, err := naq.DependencyValues[int](ctx)
			if err != nil {
				return nil, err
			}
			sum := 0
			for i, v := range vs {
				if v != i+1 {
					return nil, fmt.Errorf("member results %v: not in the group's order", vs)
				}
				sum += v
			}
			mu.Lock()
			calls[job.Workflow.ID]++
			sums[job.Workflow.ID] = sum
			mu.Unlock()
			return sum, nil
		})
	}
	for range 3 {
		e.startWorker(t, register, worker.WithConcurrency(flows*members))
	}
	var wfs []*naq.Workflow
	for range flows {
		var group []naq.Flow
		for i := 1; i <= members; i++ {
			group = append(group, naq.Step("wf:member", naq.Args{i}))
		}
		wf, err := e.client.EnqueueWorkflow(t.Context(), naq.Group(group...).Then(naq.Step("wf:sum", nil)))
		if err != nil {
			t.Fatal(err)
		}
		wfs = append(wfs, wf)
	}
	// Every callback has been delivered and put back to wait.
	for _, wf := range wfs {
		cb := lastStep(wf)
		testutil.Eventually(t, 30*time.Second, "callback "+cb+" to wait for its members", func() bool {
			st, err := e.client.Status(t.Context(), cb)
			return err == nil && strings.Contains(st.Error, "waiting for dependency")
		})
	}
	close(release)
	for _, wf := range wfs {
		var sum int
		if err := e.wait(t, lastStep(wf)).Decode(&sum); err != nil {
			t.Fatal(err)
		}
		if sum != members*(members+1)/2 {
			t.Fatalf("workflow %s: callback returned %d", wf.ID, sum)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, wf := range wfs {
		if calls[wf.ID] != 1 {
			t.Errorf("workflow %s: callback ran %d times, want once", wf.ID, calls[wf.ID])
		}
	}
	if len(calls) != flows {
		t.Errorf("callbacks ran for %d workflows, want %d", len(calls), flows)
	}
}

func TestWorkflowCallbackOnFailure(t *testing.T) {
	e := newEnv(t)
	var tr trace
	var mu sync.Mutex
	var seen []*naq.Result
	var valuesErr error
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("wf:ok", func(ctx context.Context, job *naq.Job) (any, error) { return "fine", nil })
		w.HandleFunc("wf:boom", func(ctx context.Context, job *naq.Job) (any, error) {
			return nil, worker.SkipRetry(errors.New("member broke"))
		})
		w.HandleFunc("wf:report", func(ctx context.Context, job *naq.Job) (any, error) {
			tr.add("report " + job.Workflow.ID)
			if job.Workflow.ID == "also-on-failure" {
				mu.Lock()
				seen = naq.DependencyResults(ctx)
				_, valuesErr = naq.DependencyValues[string](ctx)
				mu.Unlock()
			}
			return "reported", nil
		})
	})
	group := func() *naq.GroupFlow {
		return naq.Group(naq.Step("wf:ok", nil), naq.Step("wf:boom", nil), naq.Step("wf:ok", nil))
	}
	with, err := e.client.EnqueueWorkflow(t.Context(), group().Then(naq.Step("wf:report", nil), naq.AlsoOnFailure()),
		naq.WorkflowID("also-on-failure"))
	if err != nil {
		t.Fatal(err)
	}
	without, err := e.client.EnqueueWorkflow(t.Context(), group().Then(naq.Step("wf:report", nil)), naq.WorkflowID("not-on-failure"))
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, lastStep(with)); res.Status != naq.StateCompleted {
		t.Fatalf("callback with AlsoOnFailure: %s %v", res.Status, res.Err())
	}
	if res := e.wait(t, lastStep(without)); res.Status != naq.StateFailed || res.ErrorKind != worker.KindDependencyFailed {
		t.Fatalf("callback without AlsoOnFailure: %s (%s), want failed unrun", res.Status, res.ErrorKind)
	}
	if ran := strings.Join(tr.list(), ","); ran != "report also-on-failure" {
		t.Fatalf("callbacks ran: %q; want only the one made AlsoOnFailure", ran)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("callback saw %d member results, want 3", len(seen))
	}
	for i, want := range []naq.State{naq.StateCompleted, naq.StateFailed, naq.StateCompleted} {
		if seen[i].Status != want || seen[i].JobID != with.Steps[i].JobID {
			t.Errorf("member %d: %s of %s, want %s of %s", i+1, seen[i].Status, seen[i].JobID, want, with.Steps[i].JobID)
		}
	}
	var failed *naq.JobFailedError
	if err := seen[1].Err(); !errors.As(err, &failed) || !strings.Contains(failed.Message, "member broke") {
		t.Errorf("failed member's error: %v; want its message", err)
	}
	if !errors.As(valuesErr, &failed) {
		t.Errorf("DependencyValues with a failed member: %v; want its *JobFailedError", valuesErr)
	}
}

// A chain holding a group of chains and a group: each part starts after the
// one before it, and each step reads what it depends on.
func TestWorkflowNesting(t *testing.T) {
	e := newEnv(t)
	var tr trace
	step := func(name string) worker.HandlerFunc {
		return func(ctx context.Context, job *naq.Job) (any, error) {
			tr.add(name)
			vs, err := naq.DependencyValues[string](ctx)
			if err != nil {
				return nil, err
			}
			return name + "(" + strings.Join(vs, "+") + ")", nil
		}
	}
	e.startWorker(t, func(w *worker.Worker) {
		for _, n := range []string{"a", "b1", "b2", "c1", "c2", "merge", "d1", "d2", "final"} {
			w.Handle("wf:"+n, step(n))
		}
	}, worker.WithConcurrency(8))
	s := func(n string) naq.Flow { return naq.Step("wf:"+n, nil) }
	wf, err := e.client.EnqueueWorkflow(t.Context(), naq.Chain(
		s("a"),
		naq.Group(naq.Chain(s("b1"), s("b2")), naq.Chain(s("c1"), s("c2"))).Then(s("merge")),
		naq.Group(s("d1"), s("d2")),
		s("final"),
	))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.wait(t, lastStep(wf)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	const merged = "merge(b2(b1(a()))+c2(c1(a())))"
	if want := "final(d1(" + merged + ")+d2(" + merged + "))"; got != want {
		t.Fatalf("final step returned\n %s\nwant\n %s", got, want)
	}
	before := func(x, y string) {
		if tr.index(x) < 0 || tr.index(x) > tr.index(y) {
			t.Errorf("%s ran after %s: %v", x, y, tr.list())
		}
	}
	for _, p := range [][2]string{{"a", "b1"}, {"a", "c1"}, {"b1", "b2"}, {"c1", "c2"}, {"b2", "merge"}, {"c2", "merge"},
		{"merge", "d1"}, {"merge", "d2"}, {"d1", "final"}, {"d2", "final"}} {
		before(p[0], p[1])
	}
	var paths []string
	for _, st := range wf.Steps {
		paths = append(paths, st.Path)
	}
	if p := strings.Join(paths, " "); p != "1 2.1.1 2.1.2 2.2.1 2.2.2 2.then 3.1 3.2 4" {
		t.Errorf("step paths %s", p)
	}
}
