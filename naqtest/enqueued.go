package naqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// Match narrows RequireEnqueued and RequireNotEnqueued. Its zero value (or
// nil) matches every job of the name.
type Match struct {
	// Queue is the job's queue; "" matches any.
	Queue string
	// Args, if not nil, must equal the job's arguments as JSON: what Enqueue
	// would make of Args (naq.Args, naq.Kwargs, a struct...). naq.Args{}
	// matches a job without arguments.
	Args any
}

// Enqueued returns the jobs waiting in queue q ("" for every queue), oldest
// first, read without taking them: they stay queued. A job is there from its
// enqueue until a worker has stored its result. Delayed jobs are not there
// until they are due (naq.Client.ListDelayed lists them). Messages that are
// not naq jobs are left out: a worker moves them to the failed-jobs stream.
func Enqueued(ctx context.Context, c *naq.Client, q string) ([]*naq.Job, error) {
	var queues []string
	if q != "" {
		if err := layout.ValidateQueue(q); err != nil {
			return nil, fmt.Errorf("%w: %v", naq.ErrInvalidQueue, err)
		}
		queues = []string{q}
	}
	jobs, _, err := queued(ctx, c, queues)
	return jobs, err
}

// queued reads the jobs of the given queues (nil: all) from the jobs stream,
// by subject, without a consumer: a work-queue stream allows no second
// consumer on a subject a worker consumes. It also counts the messages that
// are not jobs.
func queued(ctx context.Context, c *naq.Client, queues []string) (jobs []*naq.Job, others int, err error) {
	s, err := c.JetStream().Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, 0, fmt.Errorf("read queued jobs: %w", err)
	}
	subject := layout.JobsSubjectPrefix + "*"
	if len(queues) == 1 {
		subject = layout.QueueSubject(queues[0])
	}
	want := map[string]bool{}
	for _, q := range queues {
		want[layout.QueueSubject(q)] = true
	}
	jobs = []*naq.Job{}
	for seq := uint64(1); ; seq++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if layout.IsNotFound(err) {
			return jobs, others, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read queued jobs: %w", err)
		}
		seq = m.Sequence
		if len(want) > 0 && !want[m.Subject] {
			continue
		}
		if j, err := naq.DecodeJob(m.Data); err == nil {
			jobs = append(jobs, j)
		} else {
			others++
		}
	}
}

// RequireEnqueued fails the test unless a job named name that matches m is
// waiting in its queue, and returns the first such job. It reads the queues
// without taking jobs from them, so it suits code that enqueues while no
// worker runs; the failure lists what is queued instead.
func RequireEnqueued(t testing.TB, c *naq.Client, name string, m *Match) *naq.Job {
	t.Helper()
	jobs, all := matching(t, c, name, m)
	if len(jobs) == 0 {
		t.Fatalf("naqtest: no job %s is queued; queued: %s", m.describe(name), summary(all))
	}
	return jobs[0]
}

// RequireNotEnqueued fails the test if a job named name that matches m is
// waiting in its queue.
func RequireNotEnqueued(t testing.TB, c *naq.Client, name string, m *Match) {
	t.Helper()
	if jobs, _ := matching(t, c, name, m); len(jobs) > 0 {
		t.Fatalf("naqtest: %d job(s) %s queued, want none; the first: %s", len(jobs), m.describe(name), describe(jobs[:1]))
	}
}

// matching returns the queued jobs that match, and all queued jobs.
func matching(t testing.TB, c *naq.Client, name string, m *Match) (match, all []*naq.Job) {
	t.Helper()
	if m == nil {
		m = &Match{}
	}
	var want *naq.Job
	if m.Args != nil {
		j, err := naq.NewJob(name, m.Args)
		if err != nil {
			t.Fatalf("naqtest: Match.Args: %v", err)
		}
		want = j
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	all, _, err := queued(ctx, c, nil)
	if err != nil {
		t.Fatalf("naqtest: %v", err)
	}
	for _, j := range all {
		if j.Name != name || m.Queue != "" && j.Queue != m.Queue {
			continue
		}
		if want != nil && !(sameJSON(j.Args, want.Args) && sameJSON(j.Kwargs, want.Kwargs)) {
			continue
		}
		match = append(match, j)
	}
	return match, all
}

// sameJSON compares two argument lists or maps by their decoded JSON, so key
// order and spacing do not matter, and none is the same as an empty one.
func sameJSON(a, b any) bool {
	va, okA := decoded(a)
	vb, okB := decoded(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

func decoded(v any) (any, bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false
	}
	switch x := out.(type) {
	case []any:
		if len(x) == 0 {
			return nil, true
		}
	case map[string]any:
		if len(x) == 0 {
			return nil, true
		}
	}
	return out, true
}

func (m *Match) describe(name string) string {
	s := fmt.Sprintf("%q", name)
	if m == nil {
		return s
	}
	if m.Queue != "" {
		s += " on " + m.Queue
	}
	if m.Args != nil {
		raw, _ := json.Marshal(m.Args)
		s += " with arguments " + string(raw)
	}
	return s
}

// summary names the queued jobs for a failure message.
func summary(jobs []*naq.Job) string {
	if len(jobs) == 0 {
		return "none"
	}
	const most = 10
	s := describe(jobs[:min(len(jobs), most)])
	if len(jobs) > most {
		s += fmt.Sprintf(" and %d more", len(jobs)-most)
	}
	return s
}
