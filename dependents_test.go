package naq_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
)

// The jobs that wait for a job are listed from their enqueue on, whichever
// way they were enqueued.
func TestDependentsListed(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Enqueue(ctx, "first", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := c.Dependents(ctx, first.ID); err != nil || len(ds) != 0 {
		t.Fatalf("before any dependency: %v %v", ds, err)
	}
	other, err := c.Enqueue(ctx, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Enqueue(ctx, "report", nil, naq.DependsOn(first.ID, other.ID))
	if err != nil {
		t.Fatal(err)
	}
	many := make([]*naq.Job, 3)
	for i := range many {
		if many[i], err = naq.NewJob("mail", nil, naq.DependsOn(first.ID)); err != nil {
			t.Fatal(err)
		}
	}
	plain, _ := naq.NewJob("unrelated", nil)
	if err := c.EnqueueMany(ctx, append(many, plain)); err != nil {
		t.Fatal(err)
	}
	later, err := c.EnqueueIn(ctx, time.Hour, "cleanup", nil, naq.DependsOn(first.ID))
	if err != nil {
		t.Fatal(err)
	}
	// No worker runs: the delayed job has its scheduled record, the others
	// none yet.
	want := []naq.Dependent{{JobID: one.ID, Name: "report", State: naq.StatePending}, {JobID: later.ID, Name: "cleanup", State: naq.StateScheduled}}
	for _, j := range many {
		want = append(want, naq.Dependent{JobID: j.ID, Name: "mail", State: naq.StatePending})
	}
	slices.SortFunc(want, func(a, b naq.Dependent) int { return strings.Compare(a.JobID, b.JobID) })
	// The index's entries are sent ahead of their jobs and stored beside
	// them, not before the enqueue returns.
	var got []naq.Dependent
	testutil.Eventually(t, 10*time.Second, "the first job's five dependents", func() bool {
		got, err = c.Dependents(ctx, first.ID)
		return err == nil && len(got) == len(want)
	})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dependents of the first job (-want +got):\n%s", d)
	}
	testutil.Eventually(t, 10*time.Second, "the other job's dependent", func() bool {
		got, err = c.Dependents(ctx, other.ID)
		return err == nil && len(got) == 1 && got[0].JobID == one.ID
	})
	if _, err := c.Dependents(ctx, "a.b"); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("an id that cannot be a job's: %v", err)
	}
}

// A dependency id that no job can have is refused at enqueue, whichever way
// it was set, and nothing is enqueued.
func TestDependencyIDChecked(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := naq.NewJob("x", nil, naq.DependsOn("a.*")); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("option: %v", err)
	}
	j, _ := naq.NewJob("x", nil, naq.Queue("deps"))
	j.DependsOn = []string{"a.*"}
	if err := c.EnqueueJob(ctx, j); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("field set by hand, one job: %v", err)
	}
	ok, _ := naq.NewJob("x", nil, naq.Queue("deps"))
	if err := c.EnqueueMany(ctx, []*naq.Job{ok, j}); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("field set by hand, in a batch: %v", err)
	}
	if qi, err := c.Queue(ctx, "deps"); !errors.Is(err, naq.ErrQueueNotFound) {
		t.Errorf("jobs enqueued after a refusal: %+v %v", qi, err)
	}
}
