package naq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
)

func newClient(t *testing.T, opts ...naq.ClientOption) (*naq.Client, *nats.Conn) {
	t.Helper()
	_, nc := testutil.Server(t)
	opts = append([]naq.ClientOption{naq.WithLogger(testutil.Logger())}, opts...)
	c, err := naq.NewClient(t.Context(), nc, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, nc
}

func jobsStream(t *testing.T, c *naq.Client) jetstream.Stream {
	t.Helper()
	s, err := c.JetStream().Stream(t.Context(), layout.JobsStream)
	if err != nil {
		t.Fatalf("stream %s: %v", layout.JobsStream, err)
	}
	return s
}

// storedJobs returns how many messages naq_jobs holds.
func storedJobs(t *testing.T, c *naq.Client) uint64 {
	t.Helper()
	info, err := jobsStream(t, c).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// storedOn returns how many messages naq_jobs holds for queue q.
func storedOn(t *testing.T, c *naq.Client, q string) uint64 {
	t.Helper()
	subj := layout.QueueSubject(q)
	info, err := jobsStream(t, c).Info(t.Context(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

func TestEnqueueStoresMessage(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	j, err := c.Enqueue(ctx, "tasks:count_words", naq.Args{"some text"}, naq.Queue("text_jobs"), naq.MaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := jobsStream(t, c).GetLastMsgForSubject(ctx, "naq.queue.text_jobs")
	if err != nil {
		t.Fatalf("no message on naq.queue.text_jobs: %v", err)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != j.ID {
		t.Errorf("Nats-Msg-Id = %q, want the job id %q", got, j.ID)
	}
	got, err := naq.DecodeJob(msg.Data)
	if err != nil {
		t.Fatalf("stored message is not a job: %v\n%s", err, msg.Data)
	}
	if got.ID != j.ID || got.Name != "tasks:count_words" || got.Queue != "text_jobs" || got.MaxRetries != 2 {
		t.Errorf("stored job = %+v", got)
	}
	var arg string
	if err := got.Bind(&arg); err != nil || arg != "some text" {
		t.Errorf("stored args bind to %q, %v", arg, err)
	}
	if n := storedJobs(t, c); n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
}

func TestEnqueueDefaultQueue(t *testing.T) {
	t.Setenv("NAQ_DEFAULT_QUEUE", "")
	c, _ := newClient(t)
	if _, err := c.Enqueue(t.Context(), "tasks:x", nil); err != nil {
		t.Fatal(err)
	}
	if n := storedOn(t, c, naq.DefaultQueue); n != 1 {
		t.Errorf("%d jobs on %s, want 1", n, naq.DefaultQueue)
	}

	c2, err := naq.NewClient(t.Context(), c.Conn(), naq.WithDefaultQueue("custom"), naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	j, err := c2.Enqueue(t.Context(), "tasks:x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.Queue != "custom" || storedOn(t, c, "custom") != 1 {
		t.Errorf("job queue %q; %d on custom, want 1", j.Queue, storedOn(t, c, "custom"))
	}
	if _, err := naq.NewClient(t.Context(), c.Conn(), naq.WithDefaultQueue("a.b")); !errors.Is(err, naq.ErrInvalidQueue) {
		t.Errorf("WithDefaultQueue(a.b) = %v, want ErrInvalidQueue", err)
	}
}

func TestEnqueueSameJobTwiceIsOneMessage(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	j, err := naq.NewJob("tasks:x", naq.Args{1}, naq.Queue("dedupe"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.EnqueueJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	// A new job object with the same id is the same job too.
	if _, err := c.Enqueue(ctx, "tasks:x", naq.Args{1}, naq.Queue("dedupe"), naq.JobID(j.ID)); err != nil {
		t.Fatal(err)
	}
	if n := storedJobs(t, c); n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
}

func TestEnqueueInvalidJobStoresNothing(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	cases := map[string]struct {
		mutate func(*naq.Job)
		want   error
	}{
		"bad queue":     {func(j *naq.Job) { j.Queue = "a.b" }, naq.ErrInvalidQueue},
		"wildcard":      {func(j *naq.Job) { j.Queue = ">" }, naq.ErrInvalidQueue},
		"bad id":        {func(j *naq.Job) { j.ID = "has space" }, naq.ErrInvalidJob},
		"empty id":      {func(j *naq.Job) { j.ID = "" }, naq.ErrInvalidJob},
		"no name":       {func(j *naq.Job) { j.Name = "" }, naq.ErrInvalidJob},
		"bad raw args":  {func(j *naq.Job) { j.Args = raws(`{oops`) }, naq.ErrInvalidArgs},
		"bad raw kwarg": {func(j *naq.Job) { j.Kwargs = map[string]json.RawMessage{"k": json.RawMessage(`[`)} }, naq.ErrInvalidArgs},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			j, err := naq.NewJob("tasks:x", nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(j)
			if err := c.EnqueueJob(ctx, j); !errors.Is(err, tc.want) {
				t.Errorf("EnqueueJob = %v, want %v", err, tc.want)
			}
		})
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

func TestEnqueueUnmarshalableArgs(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for name, args := range map[string]any{
		"channel":           make(chan int),
		"Args with channel": naq.Args{make(chan int)},
		"Args with +Inf":    naq.Args{math.Inf(1)},
		"Kwargs with -Inf":  naq.Kwargs{"x": math.Inf(-1)},
		"bare Inf":          math.Inf(1),
	} {
		t.Run(name, func(t *testing.T) {
			j, err := c.Enqueue(ctx, "tasks:x", args)
			if !errors.Is(err, naq.ErrInvalidArgs) {
				t.Errorf("Enqueue = %v, want ErrInvalidArgs", err)
			}
			if j != nil {
				t.Errorf("Enqueue returned a job with its error")
			}
		})
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

func TestEnqueuePayloadTooLarge(t *testing.T) {
	c, nc := newClient(t)
	ctx := t.Context()
	if nc.MaxPayload() != 1<<20 {
		t.Fatalf("server max payload = %d, this test assumes the 1 MiB default", nc.MaxPayload())
	}
	big := strings.Repeat("x", 2<<20)
	_, err := c.Enqueue(ctx, "tasks:x", naq.Args{big})
	if !errors.Is(err, naq.ErrPayloadTooLarge) {
		t.Fatalf("Enqueue of 2 MiB = %v, want ErrPayloadTooLarge", err)
	}
	// The same through EnqueueMany, beside a small valid job.
	small, _ := naq.NewJob("tasks:x", nil)
	large, _ := naq.NewJob("tasks:x", naq.Args{big})
	for _, opts := range [][]naq.BulkOption{nil, {naq.AllOrNothing()}} {
		if err := c.EnqueueMany(ctx, []*naq.Job{small, large}, opts...); !errors.Is(err, naq.ErrPayloadTooLarge) {
			t.Errorf("EnqueueMany(%d opts) = %v, want ErrPayloadTooLarge", len(opts), err)
		}
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
	// A job well under the limit still goes through.
	if _, err := c.Enqueue(ctx, "tasks:x", naq.Args{strings.Repeat("y", 512<<10)}); err != nil {
		t.Errorf("Enqueue of 512 KiB: %v", err)
	}
}

func manyJobs(t *testing.T, n int, queue string) []*naq.Job {
	t.Helper()
	jobs := make([]*naq.Job, n)
	for i := range jobs {
		j, err := naq.NewJob("tasks:x", naq.Args{i}, naq.Queue(queue))
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = j
	}
	return jobs
}

func TestEnqueueManyPipelined(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	jobs := manyJobs(t, 500, "bulk")
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if n := storedOn(t, c, "bulk"); n != 500 {
		t.Fatalf("%d jobs stored, want 500", n)
	}
	// Again: ids dedupe, nothing is added.
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if n := storedJobs(t, c); n != 500 {
		t.Errorf("%d jobs stored after re-enqueueing, want 500", n)
	}
	if err := c.EnqueueMany(ctx, nil); err != nil {
		t.Errorf("EnqueueMany(nil) = %v", err)
	}
}

func TestEnqueueManyAllOrNothing(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	jobs := manyJobs(t, 200, "atomic")
	if err := c.EnqueueMany(ctx, jobs, naq.AllOrNothing()); err != nil {
		t.Fatal(err)
	}
	if n := storedOn(t, c, "atomic"); n != 200 {
		t.Fatalf("%d jobs stored, want 200", n)
	}
	if err := c.EnqueueMany(ctx, nil, naq.AllOrNothing()); err != nil {
		t.Errorf("EnqueueMany(nil, AllOrNothing) = %v", err)
	}
}

func TestEnqueueManyAllOrNothingWithEnqueuedJobStoresNone(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	old, err := c.Enqueue(ctx, "tasks:x", nil, naq.Queue("atomic"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := manyJobs(t, 10, "atomic")
	jobs[5] = old // already in the stream
	err = c.EnqueueMany(ctx, jobs, naq.AllOrNothing())
	if err == nil {
		t.Fatal("EnqueueMany with an already-enqueued job succeeded, want an error")
	}
	t.Logf("error: %v", err)
	if n := storedJobs(t, c); n != 1 {
		t.Errorf("stream holds %d messages, want only the first job", n)
	}
}

func TestEnqueueManyAllOrNothingTooMany(t *testing.T) {
	c, _ := newClient(t)
	err := c.EnqueueMany(t.Context(), manyJobs(t, naq.MaxAtomicBatch+1, "atomic"), naq.AllOrNothing())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(naq.MaxAtomicBatch)) {
		t.Errorf("EnqueueMany of %d = %v, want an error naming the limit", naq.MaxAtomicBatch+1, err)
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

func TestEnqueueManyInvalidJobStoresNothing(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []naq.BulkOption
	}{{"pipelined", nil}, {"all-or-nothing", []naq.BulkOption{naq.AllOrNothing()}}} {
		t.Run(mode.name, func(t *testing.T) {
			c, _ := newClient(t)
			ctx := t.Context()

			jobs := manyJobs(t, 20, "bulk")
			jobs[13].Queue = "bad.queue"
			if err := c.EnqueueMany(ctx, jobs, mode.opts...); !errors.Is(err, naq.ErrInvalidQueue) {
				t.Errorf("EnqueueMany with a bad queue = %v, want ErrInvalidQueue", err)
			}

			jobs = manyJobs(t, 20, "bulk")
			jobs[19].Args = raws(`not json`)
			if err := c.EnqueueMany(ctx, jobs, mode.opts...); !errors.Is(err, naq.ErrInvalidArgs) {
				t.Errorf("EnqueueMany with bad args = %v, want ErrInvalidArgs", err)
			}

			jobs = manyJobs(t, 20, "bulk")
			jobs[7].ID = jobs[3].ID
			if err := c.EnqueueMany(ctx, jobs, mode.opts...); !errors.Is(err, naq.ErrInvalidJob) {
				t.Errorf("EnqueueMany with a repeated id = %v, want ErrInvalidJob", err)
			}

			if n := storedJobs(t, c); n != 0 {
				t.Errorf("stream holds %d messages, want 0", n)
			}
		})
	}
}

// A batch large enough to be encoded by several goroutines still names its
// first bad job by position and stores nothing; a nil job and a job given
// twice (the same pointer) are refused before any job is encoded.
// Every job of a large batch is validated before any is sent, though the
// encodings are not kept from validation to sending (5,000 and 70,000 jobs).
func TestEnqueueManyLargeBatchValidation(t *testing.T) {
	for _, n := range []int{5000, 70000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testLargeBatchValidation(t, n) })
	}
}

func testLargeBatchValidation(t *testing.T, n int) {
	c, _ := newClient(t)
	ctx := t.Context()

	jobs := manyJobs(t, n, "big")
	jobs[1200].Queue = "bad queue"
	jobs[n-1].Args = raws(`not json`)
	err := c.EnqueueMany(ctx, jobs)
	if !errors.Is(err, naq.ErrInvalidQueue) || !strings.Contains(err.Error(), fmt.Sprintf("job 1201 of %d", n)) {
		t.Errorf("EnqueueMany with bad jobs at 1201 and 5000 = %v, want ErrInvalidQueue naming job 1201", err)
	}

	jobs = manyJobs(t, n, "big")
	jobs[n-1].Args = raws(`not json`)
	err = c.EnqueueMany(ctx, jobs)
	if !errors.Is(err, naq.ErrInvalidArgs) || !strings.Contains(err.Error(), fmt.Sprintf("job %d of %d", n, n)) {
		t.Errorf("EnqueueMany with bad arguments in the last job = %v, want ErrInvalidArgs naming job 5000", err)
	}

	jobs = manyJobs(t, n, "big")
	jobs[2500] = nil
	if err := c.EnqueueMany(ctx, jobs); !errors.Is(err, naq.ErrInvalidJob) || !strings.Contains(err.Error(), fmt.Sprintf("job 2501 of %d is nil", n)) {
		t.Errorf("EnqueueMany with a nil job = %v, want ErrInvalidJob naming job 2501", err)
	}

	jobs = manyJobs(t, n, "big")
	jobs[4000] = jobs[10]
	if err := c.EnqueueMany(ctx, jobs); !errors.Is(err, naq.ErrInvalidJob) || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("EnqueueMany with one job given twice = %v, want ErrInvalidJob", err)
	}
	if got := storedJobs(t, c); got != 0 {
		t.Fatalf("stream holds %d messages after refused batches, want 0", got)
	}

	jobs = manyJobs(t, n, "big")
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if got := storedJobs(t, c); got != uint64(n) {
		t.Errorf("stream holds %d messages, want %d", got, n)
	}
	for _, j := range []*naq.Job{jobs[0], jobs[n/2], jobs[n-1]} {
		if j.Queue != "big" || j.EnqueuedAt.IsZero() {
			t.Errorf("job %s: queue %q, enqueued at %v after EnqueueMany", j.ID, j.Queue, j.EnqueuedAt)
		}
	}
}

func TestPurge(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	if err := c.EnqueueMany(ctx, manyJobs(t, 7, "a")); err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueMany(ctx, manyJobs(t, 3, "b")); err != nil {
		t.Fatal(err)
	}
	// "a" must not match "ab" or "a-b".
	if err := c.EnqueueMany(ctx, manyJobs(t, 2, "ab")); err != nil {
		t.Fatal(err)
	}
	n, err := c.Purge(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Errorf("Purge(a) = %d, want 7", n)
	}
	if got := storedOn(t, c, "a"); got != 0 {
		t.Errorf("%d jobs left on a", got)
	}
	if got, got2 := storedOn(t, c, "b"), storedOn(t, c, "ab"); got != 3 || got2 != 2 {
		t.Errorf("b has %d (want 3), ab has %d (want 2)", got, got2)
	}
	if n, err := c.Purge(ctx, "a"); err != nil || n != 0 {
		t.Errorf("second Purge(a) = %d, %v; want 0, nil", n, err)
	}
	if n, err := c.Purge(ctx, "never-used"); err != nil || n != 0 {
		t.Errorf("Purge(never-used) = %d, %v; want 0, nil", n, err)
	}
	for _, q := range []string{"*", ">", "a.b", ""} {
		if _, err := c.Purge(ctx, q); !errors.Is(err, naq.ErrInvalidQueue) {
			t.Errorf("Purge(%q) = %v, want ErrInvalidQueue", q, err)
		}
	}
	if got := storedJobs(t, c); got != 5 {
		t.Errorf("stream holds %d messages, want 5", got)
	}
}

func TestNewClientTwice(t *testing.T) {
	c, nc := newClient(t)
	ctx := t.Context()
	if _, err := c.Enqueue(ctx, "tasks:x", nil); err != nil {
		t.Fatal(err)
	}
	c2, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatalf("second NewClient: %v", err)
	}
	if n := storedJobs(t, c2); n != 1 {
		t.Errorf("second NewClient changed the stream: %d messages, want 1", n)
	}
}

// An older stream gets what naq needs added and keeps what it had.
func TestNewClientUpdatesOlderStream(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	old := layout.JobsStreamConfig(layout.Config{})
	old.Description = "naq jobs (older version)"
	old.Duplicates = 30 * time.Second
	old.AllowAtomicPublish = false
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "naq.queue.keep", []byte(`{"job_id":"k1","function":"tasks:x"}`)); err != nil {
		t.Fatal(err)
	}

	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatalf("NewClient over an older stream: %v", err)
	}
	info, err := jobsStream(t, c).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := layout.JobsStreamConfig(layout.Config{})
	if info.Config.Description != old.Description {
		t.Errorf("Description = %q, want %q kept", info.Config.Description, old.Description)
	}
	if info.Config.Duplicates != want.Duplicates {
		t.Errorf("Duplicates = %v, want %v", info.Config.Duplicates, want.Duplicates)
	}
	if !info.Config.AllowAtomicPublish {
		t.Error("AllowAtomicPublish not enabled on the updated stream")
	}
	if info.State.Msgs != 1 {
		t.Errorf("update lost messages: %d, want 1", info.State.Msgs)
	}
	// The updated stream takes all-or-nothing batches.
	if err := c.EnqueueMany(ctx, manyJobs(t, 3, "q"), naq.AllOrNothing()); err != nil {
		t.Errorf("AllOrNothing on the updated stream: %v", err)
	}
}

func TestResultAndStatusUnknownJob(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	if _, err := c.Result(ctx, "nope"); !errors.Is(err, naq.ErrJobNotFound) {
		t.Errorf("Result = %v, want ErrJobNotFound", err)
	}
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, naq.ErrJobNotFound) {
		t.Errorf("Status = %v, want ErrJobNotFound", err)
	}
	for _, id := range []string{"", "a.b", "a b", "*", ">"} {
		if _, err := c.Result(ctx, id); !errors.Is(err, naq.ErrInvalidJob) {
			t.Errorf("Result(%q) = %v, want ErrInvalidJob", id, err)
		}
		if _, err := c.Status(ctx, id); !errors.Is(err, naq.ErrInvalidJob) {
			t.Errorf("Status(%q) = %v, want ErrInvalidJob", id, err)
		}
		if _, err := c.Wait(ctx, id); !errors.Is(err, naq.ErrInvalidJob) {
			t.Errorf("Wait(%q) = %v, want ErrInvalidJob", id, err)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	c, _ := newClient(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Wait(ctx, "never-finishes"); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, "never-finishes"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

// putPythonResult writes a wire-vector result record into naq_results as
// Python naq would.
func putPythonResult(t *testing.T, c *naq.Client, id, vector string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(wireDir(t), vector))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c.JetStream().KeyValue(t.Context(), layout.ResultsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), id, data); err != nil {
		t.Fatal(err)
	}
}

func TestWaitReturnsExistingResult(t *testing.T) {
	c, _ := newClient(t)
	putPythonResult(t, c, "py-done", "result-completed.json")

	r, err := c.Wait(t.Context(), "py-done")
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	var n int
	if err := r.Decode(&n); err != nil || n != 8 {
		t.Errorf("Decode = %d, %v; want 8", n, err)
	}
	if r.Status != naq.StateCompleted || r.JobID != "py-done" {
		t.Errorf("result = %+v", r)
	}

	r, err = c.Result(t.Context(), "py-done")
	if err != nil || r.Status != naq.StateCompleted {
		t.Errorf("Result = %+v, %v", r, err)
	}
	st, err := c.Status(t.Context(), "py-done")
	if err != nil || st.State != naq.StateCompleted || st.JobID != "py-done" {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestWaitReturnsExistingFailure(t *testing.T) {
	c, _ := newClient(t)
	putPythonResult(t, c, "py-failed", "result-failed.json")

	r, err := c.Wait(t.Context(), "py-failed")
	var fe *naq.JobFailedError
	if !errors.As(err, &fe) {
		t.Fatalf("Wait = %v, want *JobFailedError", err)
	}
	if r == nil || r.Status != naq.StateFailed {
		t.Errorf("Wait returned result %+v with the failure", r)
	}
	if fe.JobID != "py-failed" || fe.Message != "division by zero" || !strings.Contains(fe.Traceback, "ZeroDivisionError") {
		t.Errorf("JobFailedError = %+v", fe)
	}
	st, err := c.Status(t.Context(), "py-failed")
	if err != nil || st.State != naq.StateFailed || st.Error != "division by zero" {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestWaitSeesLaterResult(t *testing.T) {
	c, _ := newClient(t)
	done := make(chan error, 1)
	var got *naq.Result
	// The result is written while Wait runs in another goroutine: whether it
	// lands before or after Wait subscribes, Wait must return it.
	go func() {
		r, err := c.Wait(t.Context(), "later")
		got = r
		done <- err
	}()
	putPythonResult(t, c, "later", "result-completed.json")
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	var n int
	if err := got.Decode(&n); err != nil || n != 8 {
		t.Errorf("Decode = %d, %v", n, err)
	}
}

// TestEnqueueLargestAcceptedJob finds the largest job the client's size check
// accepts and checks that every publish mode then stores it: the check must
// leave room for the headers each mode adds (the atomic batch adds the most).
func TestEnqueueLargestAcceptedJob(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	n := 0
	mk := func(q string, pad int) *naq.Job {
		t.Helper()
		n++
		j, err := naq.NewJob("tasks:x", naq.Args{strings.Repeat("p", pad)}, naq.Queue(q), naq.JobID(fmt.Sprintf("big%029d", n)))
		if err != nil {
			t.Fatal(err)
		}
		// A fixed enqueue time, so every job's encoding has the same length.
		j.EnqueuedAt = time.Unix(1764230400, 250_000_000).UTC()
		return j
	}
	// fits reports whether a job padded by pad passes validation, without
	// publishing anything: the batch's second job is invalid, so EnqueueMany
	// stops at validation either way.
	fits := func(pad int) bool {
		bad := mk("q0", 0)
		bad.Queue = "bad.queue"
		err := c.EnqueueMany(ctx, []*naq.Job{mk("q0", pad), bad})
		switch {
		case errors.Is(err, naq.ErrPayloadTooLarge):
			return false
		case errors.Is(err, naq.ErrInvalidQueue):
			return true
		}
		t.Fatalf("EnqueueMany probe: %v", err)
		return false
	}
	lo, hi := 0, 2<<20 // fits(lo), !fits(hi)
	if !fits(lo) || fits(hi) {
		t.Fatal("size probe bounds are wrong")
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if storedJobs(t, c) != 0 {
		t.Fatal("the size probe stored jobs")
	}
	if err := c.EnqueueJob(ctx, mk("q1", lo)); err != nil {
		t.Errorf("EnqueueJob of the largest accepted job: %v", err)
	}
	if err := c.EnqueueMany(ctx, []*naq.Job{mk("q2", lo), mk("q2", lo)}); err != nil {
		t.Errorf("pipelined EnqueueMany of the largest accepted jobs: %v", err)
	}
	if err := c.EnqueueMany(ctx, []*naq.Job{mk("q3", lo), mk("q3", lo), mk("q3", lo)}, naq.AllOrNothing()); err != nil {
		t.Errorf("AllOrNothing EnqueueMany of the largest accepted jobs: %v", err)
	}
	if got := storedJobs(t, c); got != 6 {
		t.Errorf("stream holds %d messages, want 6", got)
	}
	if err := c.EnqueueJob(ctx, mk("q4", hi)); !errors.Is(err, naq.ErrPayloadTooLarge) {
		t.Errorf("EnqueueJob one byte over = %v, want ErrPayloadTooLarge", err)
	}
}
