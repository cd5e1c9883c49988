package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A retry two hours away goes to a server-side schedule that carries the
// attempt count: the job leaves its consumer, Status still says retrying once
// the status record is gone, and when the schedule fires the next attempt is
// numbered 2, not 1, and the job's last retry is its last.
func TestLongRetryWaitsOnTheServerWithItsAttemptCount(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var (
		mu       sync.Mutex
		attempts []int
	)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("flaky", func(ctx context.Context, j *naq.Job) (any, error) {
			mu.Lock()
			attempts = append(attempts, naq.JobFromContext(ctx).Attempt)
			mu.Unlock()
			return nil, errors.New("upstream down")
		})
	})
	job, err := e.client.Enqueue(ctx, "flaky", nil, naq.MaxRetries(1), naq.RetryDelay(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	js, _ := jetstream.New(e.nc)
	jobs, sched := awaitSchedule(t, e, job.ID)
	if got := sched.Header.Get("Naq-Attempts"); got != "1" {
		t.Errorf("Naq-Attempts = %q, want 1", got)
	}
	runAt, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(sched.Header.Get("Nats-Schedule"), "@at "))
	if err != nil || runAt.Before(time.Now().Add(119*time.Minute)) {
		t.Errorf("schedule %q: want about two hours from now (%v)", sched.Header.Get("Nats-Schedule"), err)
	}
	delayed, err := e.client.ListDelayed(ctx, 0)
	if err != nil || len(delayed) != 1 || delayed[0].Job.ID != job.ID || delayed[0].Attempts != 1 {
		t.Errorf("ListDelayed = %+v, %v; want the job with 1 attempt used", delayed, err)
	}
	testutil.Eventually(t, 30*time.Second, "the delivery to be acknowledged", func() bool {
		info, err := jobs.Info(ctx, jetstream.WithSubjectFilter("naq.queue.>"))
		return err == nil && len(info.State.Subjects) == 0
	})

	// The status record expires after 24 h: without it, Status reads the
	// schedule.
	status, err := js.KeyValue(ctx, "naq_job_status")
	if err != nil {
		t.Fatal(err)
	}
	if err := status.Purge(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	st, err := e.client.Status(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != naq.StateRetrying || st.Attempts != 1 || !st.NextAttemptAt.Equal(runAt) {
		t.Errorf("status = %s, %d attempts, next %v; want retrying, 1, %v", st.State, st.Attempts, st.NextAttemptAt, runAt)
	}
	if _, err := e.client.Result(ctx, job.ID); !errors.Is(err, naq.ErrResultNotReady) {
		t.Errorf("Result = %v, want ErrResultNotReady", err)
	}

	// Bring the schedule forward: the same message and headers, due now.
	if err := jobs.Purge(ctx, jetstream.WithPurgeSubject("naq.delayed."+job.ID)); err != nil {
		t.Fatal(err)
	}
	now := nats.NewMsg(sched.Subject)
	now.Data, now.Header = sched.Data, sched.Header
	now.Header.Set("Nats-Schedule", "@at "+time.Now().UTC().Format(time.RFC3339Nano))
	now.Header.Del("Nats-Msg-Id")
	if _, err := js.PublishMsg(ctx, now); err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || res.Attempts != 2 {
		t.Errorf("result %s after %d attempts, want failed after 2", res.Status, res.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || attempts[0] != 1 || attempts[1] != 2 {
		t.Errorf("handler saw attempts %v, want [1 2]", attempts)
	}
}

// Cancel reaches a job waiting out a long snooze: its schedule goes, its
// result says cancelled.
func TestCancelRemovesALongSnooze(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("later", func(context.Context, *naq.Job) (any, error) {
			return nil, worker.Snooze(3 * time.Hour)
		})
	})
	job, err := e.client.Enqueue(ctx, "later", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := awaitSchedule(t, e, job.ID)
	st, err := e.client.Status(ctx, job.ID)
	if err != nil || st.State != naq.StateRetrying || st.Attempts != 0 {
		t.Fatalf("status = %+v, %v; want retrying with no attempt used", st, err)
	}
	if err := e.client.Cancel(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.GetLastMsgForSubject(ctx, "naq.delayed."+job.ID); err == nil {
		t.Error("the schedule is still there after Cancel")
	}
	if res := e.wait(t, job.ID); res.Status != naq.StateCancelled {
		t.Errorf("result %s, want cancelled", res.Status)
	}
}

// awaitSchedule waits for the server-side schedule of job id to appear in
// naq_jobs and returns the stream and the schedule's message.
func awaitSchedule(t *testing.T, e *env, id string) (jetstream.Stream, *jetstream.RawStreamMsg) {
	t.Helper()
	ctx := t.Context()
	js, _ := jetstream.New(e.nc)
	jobs, err := js.Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	var sched *jetstream.RawStreamMsg
	testutil.Eventually(t, 30*time.Second, "the job's schedule", func() bool {
		sched, err = jobs.GetLastMsgForSubject(ctx, "naq.delayed."+id)
		return err == nil
	})
	return jobs, sched
}
