package naq_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/naqgo/naq"
)

// Fields set on a Job by hand are checked as the options check them: a job
// a worker could not decode is refused at the enqueue, by every path, and
// a batch holding one stores nothing.
func TestHandSetFieldsAreChecked(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	cases := []struct {
		name string
		set  func(j *naq.Job)
	}{
		{"negative max retries", func(j *naq.Job) { j.MaxRetries = -1 }},
		{"negative retry delay", func(j *naq.Job) { j.RetryDelay = []time.Duration{time.Second, -time.Second} }},
		{"unknown retry strategy", func(j *naq.Job) { j.RetryStrategy = "bogus" }},
		{"result TTL under a second", func(j *naq.Job) { j.ResultTTL = 500 * time.Millisecond }},
		{"negative result TTL", func(j *naq.Job) { j.ResultTTL = -time.Hour }},
		{"negative timeout", func(j *naq.Job) { j.Timeout = -time.Second }},
		{"enqueued before 1970", func(j *naq.Job) { j.EnqueuedAt = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"enqueued after 9999", func(j *naq.Job) { j.EnqueuedAt = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"depends on itself", func(j *naq.Job) { j.DependsOn = []string{j.ID} }},
		{"error kind not UTF-8", func(j *naq.Job) { j.RetryOn = []string{"a\xffb"} }},
		{"invalid rate key", func(j *naq.Job) { j.Flow = &naq.FlowControl{RateKey: "a b"} }},
		{"unique key without scope", func(j *naq.Job) { j.Flow = &naq.FlowControl{UniqueKey: "k1"} }},
		{"invalid unique key", func(j *naq.Job) { j.Flow = &naq.FlowControl{UniqueKey: "a.b", UniqueScope: naq.UniquePending} }},
		{"invalid workflow id", func(j *naq.Job) { j.Workflow = &naq.WorkflowLink{ID: "no spaces here"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			one, err := naq.NewJob("tasks:x", naq.Args{1}, naq.Queue("checked"))
			if err != nil {
				t.Fatal(err)
			}
			tc.set(one)
			if err := c.EnqueueJob(ctx, one); !errors.Is(err, naq.ErrInvalidJob) {
				t.Errorf("EnqueueJob = %v, want ErrInvalidJob", err)
			}
			if err := c.EnqueueJobAt(ctx, time.Now().Add(time.Hour), one); !errors.Is(err, naq.ErrInvalidJob) {
				t.Errorf("EnqueueJobAt = %v, want ErrInvalidJob", err)
			}
			// In the middle of a batch several windows long, pipelined and
			// atomic: nothing at all is stored.
			jobs := manyJobs(t, 3000, "checked")
			jobs[1500] = one
			if err := c.EnqueueMany(ctx, jobs); !errors.Is(err, naq.ErrInvalidJob) {
				t.Errorf("EnqueueMany = %v, want ErrInvalidJob", err)
			}
			if err := c.EnqueueMany(ctx, jobs[1000:2000], naq.AllOrNothing()); !errors.Is(err, naq.ErrInvalidJob) {
				t.Errorf("EnqueueMany(AllOrNothing) = %v, want ErrInvalidJob", err)
			}
			if n := storedJobs(t, c); n != 0 {
				t.Fatalf("naq_jobs holds %d messages, want 0", n)
			}
		})
	}
}

// The server's clock for schedules ends in April 2262: a job due after 2261
// is refused rather than run at once, and one due in 2200 waits.
func TestEnqueueAtPastTheServersHorizon(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for _, at := range []time.Time{
		time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if _, err := c.EnqueueAt(ctx, at, "tasks:late", nil, naq.Queue("late")); !errors.Is(err, naq.ErrInvalidJob) {
			t.Errorf("EnqueueAt(%s) = %v, want ErrInvalidJob", at, err)
		}
	}
	if _, err := c.EnqueueIn(ctx, time.Duration(math.MaxInt64), "tasks:late", nil, naq.Queue("late")); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("EnqueueIn(292 years) = %v, want ErrInvalidJob", err)
	}
	if n := storedJobs(t, c); n != 0 {
		t.Fatalf("naq_jobs holds %d messages, want 0", n)
	}
	j, err := c.EnqueueAt(ctx, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), "tasks:late", nil, naq.Queue("late"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // a schedule that fires at once fires within this
	if n := storedOn(t, c, "late"); n != 0 {
		t.Errorf("the job due in 2200 is on its queue already (%d messages)", n)
	}
	st, err := c.Status(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != naq.StateScheduled || st.NextAttemptAt.Year() != 2200 {
		t.Errorf("status = %s, next attempt %s; want scheduled for 2200", st.State, st.NextAttemptAt)
	}
}

// A unique lock held past the server's horizon would expire at once; it is
// held to the horizon instead.
func TestUniqueForCenturies(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	const centuries = 250 * 365 * 24 * time.Hour
	for _, opt := range []naq.UniqueOption{naq.ForPeriod(centuries), naq.UniqueTTL(centuries)} {
		key := naq.ByKey("k" + time.Now().Format("150405.000000000"))
		first, err := c.Enqueue(ctx, "tasks:u", nil, naq.Unique(key, opt))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // a TTL that ends at once has ended by now
		second, err := c.Enqueue(ctx, "tasks:u", nil, naq.Unique(key, opt))
		if err != nil {
			t.Fatal(err)
		}
		if !second.Duplicate || second.ID != first.ID {
			t.Errorf("second enqueue: id %s, duplicate %v; want the first job %s held", second.ID, second.Duplicate, first.ID)
		}
	}
}

// A workflow is one atomic batch: a unique step, whose lock is taken one job
// at a time, is refused rather than ignored.
func TestWorkflowRefusesUniqueSteps(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	_, err := c.EnqueueWorkflow(ctx, naq.Chain(naq.Step("a", nil), naq.Step("t:once", nil, naq.Unique(naq.ByKey("only-one")))))
	if !errors.Is(err, naq.ErrInvalidJob) {
		t.Fatalf("EnqueueWorkflow with a unique step = %v, want ErrInvalidJob", err)
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("naq_jobs holds %d messages, want 0", n)
	}
}

// A job enqueued after 2262 (past what UnixNano holds) keeps its time on
// the wire.
func TestEnqueueTimeAfter2262RoundTrips(t *testing.T) {
	at := time.Date(3000, 6, 1, 12, 0, 0, 500_000_000, time.UTC)
	j, err := naq.NewJob("tasks:x", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.EnqueuedAt = at
	data, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := naq.DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := back.EnqueuedAt.Sub(at); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("enqueue time came back as %s, want %s", back.EnqueuedAt, at)
	}
}
