package naq_test

import (
	"context"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
)

// An enqueue whose id the server already holds stores nothing new, and the
// returned job says so: the caller need not parse an error.
func TestEnqueueReportsDuplicate(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		queue string
		opts  []naq.ClientOption
	}{{"plain", nil}, {"pending", []naq.ClientOption{naq.WithPendingRecords()}}} {
		c, err := naq.NewClient(ctx, nc, append([]naq.ClientOption{naq.WithLogger(testutil.Logger())}, tc.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		opts := []naq.EnqueueOption{naq.JobID("same-" + tc.queue), naq.Queue(tc.queue)}
		first, err := c.Enqueue(ctx, "x", naq.Args{1}, opts...)
		if err != nil || first.Duplicate {
			t.Fatalf("%s: first enqueue: %+v %v", tc.queue, first, err)
		}
		again, err := c.Enqueue(ctx, "x", naq.Args{2}, opts...)
		if err != nil || !again.Duplicate {
			t.Fatalf("%s: second enqueue: %+v %v", tc.queue, again, err)
		}
		if n, err := c.Purge(ctx, tc.queue); err != nil || n != 1 {
			t.Fatalf("%s: %d jobs stored (%v), want 1", tc.queue, n, err)
		}
	}
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Hour)
	if j, err := c.EnqueueAt(ctx, at, "x", nil, naq.JobID("later")); err != nil || j.Duplicate {
		t.Fatalf("first delayed enqueue: %+v %v", j, err)
	}
	if j, err := c.EnqueueAt(ctx, at.Add(time.Hour), "x", nil, naq.JobID("later")); err != nil || !j.Duplicate {
		t.Fatalf("second delayed enqueue: %+v %v", j, err)
	}
	// The duplicate left the first job's record alone: it still runs at the
	// first time.
	if st, err := c.Status(ctx, "later"); err != nil || st.NextAttemptAt.Sub(at).Abs() > time.Second {
		t.Fatalf("status after a duplicate delayed enqueue: %+v %v (want the first run time %s)", st, err, at)
	}
}
