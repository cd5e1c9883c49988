package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// failedRecords reads every record of naq_failed_jobs without consuming it.
func failedRecords(t *testing.T, e *env) []naq.FailedJob {
	t.Helper()
	js, _ := jetstream.New(e.nc)
	s, err := js.Stream(t.Context(), "naq_failed_jobs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []naq.FailedJob
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			continue
		}
		var rec naq.FailedJob
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func jobsLeft(t *testing.T, e *env) uint64 {
	js, _ := jetstream.New(e.nc)
	s, err := js.Stream(t.Context(), "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestMalformedMessagesGoToFailedStream(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {})
	bad := map[string]string{
		"not json":      `{"job_id": "d41d8cd98f00b204e9800998ecf8427e", "function": "tasks:x", "args": [1, 2`,
		"no function":   `{"job_id": "c4ca4238a0b923820dcc509a6f75849b", "args": [1], "kwargs": {}}`,
		"wrong types":   `{"job_id": "c81e728d9d4c2f636f067f89cc14862c", "function": "tasks:x", "args": {"a": 1}, "max_retries": "three"}`,
		"binary rubble": "\xff\xfe\x00garbage",
	}
	for _, raw := range bad {
		if err := e.nc.Publish("naq.queue.naq_default_queue", []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	var recs []naq.FailedJob
	testutil.Eventually(t, 30*time.Second, "failed records", func() bool { recs = failedRecords(t, e); return len(recs) == len(bad) })
	got := map[string]naq.FailedJob{}
	for _, r := range recs {
		got[string(r.Raw)] = r
		if !r.Malformed || r.Error == "" || r.Queue != "naq_default_queue" || r.StreamSeq == 0 {
			t.Errorf("record %+v", r)
		}
	}
	for name, raw := range bad {
		if _, ok := got[raw]; !ok {
			t.Errorf("%s: raw bytes not kept", name)
		}
	}
	testutil.Eventually(t, 30*time.Second, "naq_jobs to empty", func() bool { return jobsLeft(t, e) == 0 })
}

func TestRetriesThenFailedRecord(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("flaky", func(ctx context.Context, j *naq.Job) (any, error) {
			n := calls.Add(1)
			if int(n) != j.Attempt {
				return nil, worker.SkipRetry(errors.New("attempt numbering is off"))
			}
			return nil, &worker.Error{Kind: "tasks:TransientError", Err: errors.New("try again")}
		})
	})
	job, err := e.client.Enqueue(t.Context(), "flaky", nil, naq.MaxRetries(2), naq.RetryDelay(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || res.Attempts != 3 || calls.Load() != 3 || *res.Error != "try again" || res.ErrorKind != "tasks:TransientError" {
		t.Fatalf("result %+v calls %d", res, calls.Load())
	}
	var recs []naq.FailedJob
	testutil.Eventually(t, 30*time.Second, "failed record", func() bool { recs = failedRecords(t, e); return len(recs) == 1 })
	r := recs[0]
	if r.JobID != job.ID || r.Attempts != 3 || r.Error != "try again" || len(r.Job) == 0 {
		t.Fatalf("record %+v", r)
	}
	orig, err := naq.DecodeJob(r.Job)
	if err != nil || orig.ID != job.ID || orig.MaxRetries != 2 {
		t.Fatalf("original job not kept: %v %+v", err, orig)
	}
}

func TestRetryOnIgnoreOnSkipRetry(t *testing.T) {
	e := newEnv(t)
	var calls sync32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("kind", func(ctx context.Context, j *naq.Job) (any, error) {
			calls.inc(j.ID)
			var kind string
			_ = j.Bind(&kind)
			if kind == "skip" {
				return nil, worker.SkipRetry(errors.New("permanent"))
			}
			return nil, &worker.Error{Kind: kind, Err: errors.New(kind)}
		})
	})
	cases := []struct {
		kind      string
		opts      []naq.EnqueueOption
		wantCalls int
	}{
		{"builtins:ValueError", []naq.EnqueueOption{naq.IgnoreOn("builtins:ValueError")}, 1},
		{"builtins:ConnectionError", []naq.EnqueueOption{naq.RetryOn("builtins:ConnectionError")}, 3},
		{"builtins:KeyError", []naq.EnqueueOption{naq.RetryOn("builtins:ConnectionError")}, 1},
		{"builtins:KeyError", []naq.EnqueueOption{naq.RetryOn("builtins:Exception"), naq.IgnoreOn("builtins:KeyError")}, 1},
		{"skip", nil, 1},
	}
	for _, c := range cases {
		opts := append([]naq.EnqueueOption{naq.MaxRetries(2)}, c.opts...)
		job, err := e.client.Enqueue(t.Context(), "kind", c.kind, opts...)
		if err != nil {
			t.Fatal(err)
		}
		res := e.wait(t, job.ID)
		if res.Status != naq.StateFailed || calls.get(job.ID) != c.wantCalls {
			t.Errorf("%s %v: status %s after %d calls, want %d", c.kind, c.opts, res.Status, calls.get(job.ID), c.wantCalls)
		}
	}
}

func TestTimeoutFailsAsTimedOut(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("slow", func(ctx context.Context, j *naq.Job) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
	})
	job, _ := e.client.Enqueue(t.Context(), "slow", nil, naq.Timeout(200*time.Millisecond))
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || *res.Error != "job timed out after 200ms" || res.ErrorKind != worker.KindTimeout {
		t.Fatalf("result %+v", res)
	}
}

func TestSnoozeDoesNotUseRetries(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("snooze", func(ctx context.Context, j *naq.Job) (any, error) {
			if calls.Add(1) <= 3 {
				return nil, worker.Snooze(20 * time.Millisecond)
			}
			return j.Attempt, nil
		})
	})
	job, _ := e.client.Enqueue(t.Context(), "snooze", nil) // no retries at all
	var attempt int
	if err := e.wait(t, job.ID).Decode(&attempt); err != nil || attempt != 1 || calls.Load() != 4 {
		t.Fatalf("attempt %d, calls %d, %v", attempt, calls.Load(), err)
	}
}

// RetryAfter sets a floor under the retry's wait; the attempt counts and the
// job's policy still decides whether there is a retry.
func TestRetryAfterDelaysTheRetry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var mu sync.Mutex
	at := map[string][]time.Time{}
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("limited", func(ctx context.Context, j *naq.Job) (any, error) {
			mu.Lock()
			at[j.ID] = append(at[j.ID], time.Now())
			mu.Unlock()
			if j.Attempt == 1 {
				return nil, worker.RetryAfter(1500*time.Millisecond, errors.New("rate limited"))
			}
			return "ok", nil
		})
	})
	retried, err := e.client.Enqueue(ctx, "limited", nil, naq.MaxRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	final, err := e.client.Enqueue(ctx, "limited", nil) // no retries: the floor grants none
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, final.ID); res.Status != naq.StateFailed || res.Attempts != 1 {
		t.Errorf("job without retries: %s after %d attempts, want failed after 1", res.Status, res.Attempts)
	}
	if res := e.wait(t, retried.ID); res.Status != naq.StateCompleted || res.Attempts != 2 {
		t.Fatalf("%s after %d attempts, want completed after 2", res.Status, res.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs := at[retried.ID]; len(runs) != 2 {
		t.Fatalf("%d attempts ran, want 2", len(runs))
	} else if gap := runs[1].Sub(runs[0]); gap < 1400*time.Millisecond {
		t.Errorf("retried after %s; RetryAfter asked for 1.5 s", gap)
	}
}
