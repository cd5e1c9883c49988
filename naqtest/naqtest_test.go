package naqtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/naqtest"
	"github.com/naqgo/naq/worker"
)

// recorder is the running test with Fatal recorded instead of reported, so a
// test can check what a failing assertion says.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failure = fmt.Sprint(args...)
	runtime.Goexit()
}

// failure runs f with a recorder and returns what it failed with ("" if
// it did not fail).
func failure(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failure
}

type welcome struct {
	To   string `json:"to"`
	Lang string `json:"lang"`
}

func TestRequireEnqueuedReadsWithoutTaking(t *testing.T) {
	env := naqtest.New(t)
	ctx := t.Context()
	job, err := env.Client.Enqueue(ctx, "mail:welcome", welcome{To: "ana@example.com", Lang: "pt"}, naq.Queue("mail"))
	if err != nil {
		t.Fatal(err)
	}
	match := &naqtest.Match{Queue: "mail", Args: naq.Kwargs{"lang": "pt", "to": "ana@example.com"}}
	for range 2 { // the first look takes nothing
		if got := naqtest.RequireEnqueued(t, env.Client, "mail:welcome", match); got.ID != job.ID {
			t.Fatalf("RequireEnqueued returned job %s, want %s", got.ID, job.ID)
		}
	}
	// The same arguments as the struct they came from, and no narrowing at all.
	naqtest.RequireEnqueued(t, env.Client, "mail:welcome", &naqtest.Match{Args: welcome{To: "ana@example.com", Lang: "pt"}})
	naqtest.RequireEnqueued(t, env.Client, "mail:welcome", nil)
	jobs, err := naqtest.Enqueued(ctx, env.Client, "mail")
	if err != nil || len(jobs) != 1 || jobs[0].ID != job.ID {
		t.Fatalf("Enqueued(mail) = %v, %v; want the one job", jobs, err)
	}
	if jobs, err := naqtest.Enqueued(ctx, env.Client, "other"); err != nil || len(jobs) != 0 {
		t.Fatalf("Enqueued(other) = %v, %v; want none", jobs, err)
	}
}

func TestRequireEnqueuedSaysWhatIsQueued(t *testing.T) {
	env := naqtest.New(t)
	if _, err := env.Client.Enqueue(t.Context(), "mail:welcome", naq.Kwargs{"to": "ana"}, naq.Queue("mail")); err != nil {
		t.Fatal(err)
	}
	cases := map[string]*naqtest.Match{
		"another name":      nil,
		"another queue":     {Queue: "sms"},
		"another argument":  {Args: naq.Kwargs{"to": "bea"}},
		"arguments missing": {Args: naq.Args{}},
	}
	for what, m := range cases {
		name := "mail:welcome"
		if what == "another name" {
			name = "mail:goodbye"
		}
		msg := failure(t, func(tb testing.TB) { naqtest.RequireEnqueued(tb, env.Client, name, m) })
		if !strings.Contains(msg, "no job") || !strings.Contains(msg, `"mail:welcome" on mail`) {
			t.Errorf("%s: failure %q should say that nothing matched and what is queued", what, msg)
		}
	}
	if msg := failure(t, func(tb testing.TB) { naqtest.RequireNotEnqueued(tb, env.Client, "mail:welcome", nil) }); !strings.Contains(msg, "want none") {
		t.Errorf("RequireNotEnqueued of a queued job: failure %q", msg)
	}
	if msg := failure(t, func(tb testing.TB) {
		naqtest.RequireNotEnqueued(tb, env.Client, "mail:welcome", &naqtest.Match{Queue: "sms"})
	}); msg != "" {
		t.Errorf("RequireNotEnqueued of a job on another queue failed: %s", msg)
	}
}

func TestRunQueuedRunsJobsAndWhatTheyEnqueue(t *testing.T) {
	env := naqtest.New(t)
	var tries atomic.Int32
	env.Worker.HandleFunc("order:place", func(ctx context.Context, job *naq.Job) (any, error) {
		if _, err := env.Client.Enqueue(ctx, "mail:receipt", naq.Kwargs{"order": job.ID}, naq.MaxRetries(1)); err != nil {
			return nil, err
		}
		return "placed", nil
	})
	env.Worker.HandleFunc("mail:receipt", func(ctx context.Context, job *naq.Job) (any, error) {
		if tries.Add(1) == 1 {
			return nil, errors.New("mail server busy") // retried once
		}
		return "sent", nil
	})
	env.Worker.HandleFunc("card:charge", func(ctx context.Context, job *naq.Job) (any, error) {
		return nil, errors.New("card declined")
	})
	ctx := t.Context()
	if _, err := env.Client.Enqueue(ctx, "order:place", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.Enqueue(ctx, "card:charge", nil, naq.MaxRetries(0)); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	results := env.RunQueued(runCtx)
	var got []string
	for _, r := range results {
		got = append(got, fmt.Sprintf("%s %s %d", r.Name, r.Status, r.Attempts))
	}
	// mail:receipt's default retry delay is zero.
	want := []string{"order:place completed 1", "card:charge failed 1", "mail:receipt completed 2"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("results: %q, want %q", got, want)
	}
	// RunQueued stopped the worker it started: every record is stored.
	if left, err := naqtest.Enqueued(ctx, env.Client, ""); err != nil || len(left) != 0 {
		t.Fatalf("queued after RunQueued: %v, %v", left, err)
	}
	failed, err := env.Client.ListFailed(ctx, "", 0)
	if err != nil || len(failed) != 1 || failed[0].Name != "card:charge" {
		t.Fatalf("failed jobs after RunQueued: %+v, %v", failed, err)
	}
	// And it runs again.
	if _, err := env.Client.Enqueue(ctx, "order:place", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(env.RunQueued(runCtx)); n != 2 {
		t.Fatalf("second RunQueued: %d results, want the order and its receipt", n)
	}
}

func TestRunQueuedWithNothingQueued(t *testing.T) {
	env := naqtest.New(t)
	if got := env.RunQueued(t.Context()); len(got) != 0 {
		t.Fatalf("RunQueued of empty queues returned %d results", len(got))
	}
}

func TestStartRunsTheWorkerUntilTheTestEnds(t *testing.T) {
	env := naqtest.New(t, naqtest.WithWorkerOptions(worker.WithQueues("reports")))
	env.Worker.Handle("report:count", worker.Typed(func(ctx context.Context, words []string) (int, error) {
		return len(words), nil
	}))
	env.Start()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	job, err := env.Client.Enqueue(ctx, "report:count", []string{"a", "b", "c"}, naq.Queue("reports"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Client.Wait(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := res.Decode(&n); err != nil || n != 3 {
		t.Fatalf("result %d, %v; want 3", n, err)
	}
}

// The package example's test, run.
func TestSignUpExample(t *testing.T) { testSignUp(t) }

// A message that is not a naq job is left out of what is queued, and
// RunQueued lets the worker move it to the failed-jobs stream.
func TestNotAJobIsLeftOut(t *testing.T) {
	env := naqtest.New(t)
	ctx := t.Context()
	if _, err := env.Client.JetStream().Publish(ctx, "naq.queue."+naq.DefaultQueue, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	env.Worker.HandleFunc("ok", func(context.Context, *naq.Job) (any, error) { return "ok", nil })
	if _, err := env.Client.Enqueue(ctx, "ok", nil); err != nil {
		t.Fatal(err)
	}
	if jobs, err := naqtest.Enqueued(ctx, env.Client, ""); err != nil || len(jobs) != 1 || jobs[0].Name != "ok" {
		t.Fatalf("Enqueued = %v, %v; want the one job", jobs, err)
	}
	if res := env.RunQueued(ctx); len(res) != 1 || res[0].Status != naq.StateCompleted {
		t.Fatalf("RunQueued = %+v", res)
	}
	failed, err := env.Client.ListFailed(ctx, "", 0)
	if err != nil || len(failed) != 1 || !failed[0].Malformed {
		t.Fatalf("failed jobs: %+v, %v; want the malformed message", failed, err)
	}
	if _, err := naqtest.Enqueued(ctx, env.Client, "no.dots"); !errors.Is(err, naq.ErrInvalidQueue) {
		t.Fatalf("Enqueued of a bad queue name: %v", err)
	}
}
