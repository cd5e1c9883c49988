package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A job with bytes that are not UTF-8 anywhere is malformed, as Python naq
// holds it: it never runs under a mangled name, and its failed record is
// valid JSON holding the original bytes.
func TestInvalidUTF8JobIsMalformed(t *testing.T) {
	e := newEnv(t)
	var ran atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		for _, name := range []string{"m:f", "m:f\uFFFD"} {
			w.HandleFunc(name, func(context.Context, *naq.Job) (any, error) { ran.Add(1); return nil, nil })
		}
	})
	bad := map[string][]byte{
		"function": []byte(`{"job_id":"0123456789abcdef0123456789abcd01","function":"m:f` + "\xff" + `","args":[]}`),
		"argument": []byte(`{"job_id":"0123456789abcdef0123456789abcd02","function":"m:f","args":[{"k":"a` + "\xc3\x28" + `"}]}`),
		"key":      []byte(`{"job_id":"0123456789abcdef0123456789abcd03","function":"m:f","kwargs":{"` + "\xed\xa0\x80" + `":1}}`),
	}
	for _, raw := range bad {
		if err := e.nc.Publish("naq.queue.naq_default_queue", raw); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := jetstream.New(e.nc)
	s, err := js.Stream(t.Context(), "naq_failed_jobs")
	if err != nil {
		t.Fatal(err)
	}
	var stored [][]byte
	testutil.Eventually(t, 30*time.Second, "three failed records", func() bool {
		stored = nil
		for seq := uint64(1); seq <= 10; seq++ {
			if m, err := s.GetMsg(t.Context(), seq); err == nil {
				stored = append(stored, m.Data)
			}
		}
		return len(stored) == len(bad)
	})
	kept := map[string]bool{}
	for _, data := range stored {
		if !utf8.Valid(data) || !json.Valid(data) {
			t.Fatalf("failed record is not valid JSON: %q", data)
		}
		var rec naq.FailedJob
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		if !rec.Malformed || rec.RawEncoding != "base64" || !strings.Contains(rec.Error, "invalid UTF-8") ||
			rec.Queue != "naq_default_queue" || rec.JobID == "" {
			t.Errorf("record %+v", rec)
		}
		for name, raw := range bad {
			if bytes.Equal(rec.Raw, raw) {
				kept[name] = true
			}
		}
	}
	if len(kept) != len(bad) {
		t.Errorf("raw bytes kept for %v only", kept)
	}
	testutil.Eventually(t, 30*time.Second, "naq_jobs to empty", func() bool { return jobsLeft(t, e) == 0 })
	if n := ran.Load(); n != 0 {
		t.Errorf("a handler ran %d times", n)
	}
}

// A job published without queue_name to naq.queue.cli belongs to queue cli:
// its status, its result, its retries, its failed record and a requeue of it.
func TestQueueComesFromTheSubject(t *testing.T) {
	e := newEnv(t)
	var failCalls, flakyCalls atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("q:ok", func(context.Context, *naq.Job) (any, error) { return "done", nil })
		w.HandleFunc("q:fail", func(context.Context, *naq.Job) (any, error) {
			failCalls.Add(1)
			return nil, worker.SkipRetry(errors.New("no luck"))
		})
		w.HandleFunc("q:flaky", func(context.Context, *naq.Job) (any, error) {
			if flakyCalls.Add(1) == 1 {
				return nil, errors.New("first time fails")
			}
			return "second time", nil
		})
	}, worker.WithQueues("cli"))
	jobs := map[string]string{
		"q:ok":    "0123456789abcdef0123456789abce01",
		"q:fail":  "0123456789abcdef0123456789abce02",
		"q:flaky": "0123456789abcdef0123456789abce03",
	}
	for name, id := range jobs {
		body := `{"job_id":"` + id + `","function":"` + name + `","args":[],"max_retries":1,"retry_delay":0}`
		if err := e.nc.Publish("naq.queue.cli", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for name, id := range jobs {
		res := e.wait(t, id)
		st, err := e.client.Status(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue != "cli" || st.Queue != "cli" {
			t.Errorf("%s: result queue %q, status queue %q, want cli", name, res.Queue, st.Queue)
		}
	}
	if n := flakyCalls.Load(); n != 2 {
		t.Errorf("the flaky job ran %d times, want 2 (its retry stays on cli)", n)
	}
	var recs []naq.FailedJob
	testutil.Eventually(t, 30*time.Second, "the failed record on cli", func() bool {
		var err error
		recs, err = e.client.ListFailed(t.Context(), "cli", 0)
		return err == nil && len(recs) == 1
	})
	if recs[0].Queue != "cli" || recs[0].JobID != jobs["q:fail"] {
		t.Fatalf("failed record %+v", recs[0])
	}
	j, err := e.client.RequeueFailed(t.Context(), recs[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if j.Queue != "cli" {
		t.Errorf("requeued on %q, want cli", j.Queue)
	}
	testutil.Eventually(t, 30*time.Second, "the requeued job to run on cli", func() bool { return failCalls.Load() == 2 })
}

// A job may depend on jobs Python naq ran: their JSON results and bare-word
// statuses decide whether it runs or fails.
func TestDependenciesOnPythonJobs(t *testing.T) {
	e := newEnv(t)
	var ran atomic.Int32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("after", func(context.Context, *naq.Job) (any, error) { ran.Add(1); return nil, nil })
	})
	js, _ := jetstream.New(e.nc)
	put := func(bucket, key, value string) {
		kv, err := js.KeyValue(t.Context(), bucket)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(t.Context(), key, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	const done, failedOnly = "00000000000000000000000000000d01", "00000000000000000000000000000d02"
	put("naq_results", done, `{"status": "completed", "result": null, "error": null, "traceback": null}`)
	put("naq_job_status", done, "completed")
	put("naq_job_status", failedOnly, "failed")

	ok, err := e.client.Enqueue(t.Context(), "after", nil, naq.DependsOn(done))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.client.Enqueue(t.Context(), "after", nil, naq.DependsOn(failedOnly))
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, ok.ID); res.Status != naq.StateCompleted {
		t.Errorf("job after a completed Python job: %+v", res)
	}
	if res := e.wait(t, bad.ID); res.Status != naq.StateFailed || res.ErrorKind != worker.KindDependencyFailed {
		t.Errorf("job after a failed Python job: %+v", res)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// A handler whose result writes bytes that are not UTF-8 (a json.Marshaler
// can) fails its job: the result record stays valid JSON.
func TestResultThatIsNotUTF8Fails(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("raw", func(context.Context, *naq.Job) (any, error) { return json.RawMessage("\"\xff\""), nil })
	})
	job, err := e.client.Enqueue(t.Context(), "raw", nil, naq.MaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, job.ID)
	if res.Status != naq.StateFailed || !strings.Contains(*res.Error, "not valid UTF-8") || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	js, _ := jetstream.New(e.nc)
	kv, err := js.KeyValue(t.Context(), "naq_results")
	if err != nil {
		t.Fatal(err)
	}
	en, err := kv.Get(t.Context(), job.ID)
	if err != nil || !utf8.Valid(en.Value()) || !json.Valid(en.Value()) {
		t.Fatalf("stored result %q: %v", en.Value(), err)
	}
}

// A job enqueued by a producer that keeps no dependents index (Python naq)
// is listed among its dependency's dependents once a worker finds it
// waiting, and runs once the dependency completes.
func TestWaitingPythonJobIsIndexed(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("slow", func(ctx context.Context, _ *naq.Job) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, nil
		})
		w.HandleFunc("py:after", func(context.Context, *naq.Job) (any, error) { return "after", nil })
	})
	first, err := e.client.Enqueue(t.Context(), "slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef0123456789abcd77"
	body := `{"job_id":"` + id + `","function":"py:after","args":[],"kwargs":{},"depends_on":["` + first.ID + `"],"max_retries":0,"retry_delay":0}`
	if err := e.nc.Publish("naq.queue.naq_default_queue", []byte(body)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the waiting job to be indexed", func() bool {
		ds, err := e.client.Dependents(t.Context(), first.ID)
		return err == nil && len(ds) == 1 && ds[0].JobID == id && ds[0].Name == "py:after"
	})
	close(release)
	if res := e.wait(t, id); res.Status != naq.StateCompleted {
		t.Fatalf("the dependent: %+v", res)
	}
}
