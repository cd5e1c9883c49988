package naq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
)

func TestPendingRecords(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	plain, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	j, err := plain.Enqueue(ctx, "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Status(ctx, j.ID); !errors.Is(err, naq.ErrJobNotFound) {
		t.Fatalf("without pending records: %v", err)
	}
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()), naq.WithPendingRecords())
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Enqueue(ctx, "x", nil, naq.MaxRetries(2), naq.Queue("p"))
	if err != nil {
		t.Fatal(err)
	}
	var many []*naq.Job
	for range 50 {
		j, _ := naq.NewJob("x", nil, naq.Queue("p"))
		many = append(many, j)
	}
	if err := c.EnqueueMany(ctx, many); err != nil {
		t.Fatal(err)
	}
	for _, j := range append(many, one) {
		st, err := c.Status(ctx, j.ID)
		if err != nil || st.State != naq.StatePending || st.Queue != "p" || st.EnqueuedAt.IsZero() {
			t.Fatalf("%s: %+v %v", j.ID, st, err)
		}
	}
	if st, _ := c.Status(ctx, one.ID); st.MaxRetries != 2 {
		t.Fatalf("%+v", st)
	}
	if n, err := c.Purge(ctx, "p"); err != nil || n != 51 {
		t.Fatalf("purge: %d %v (the pending records must not be jobs)", n, err)
	}
}

func TestPendingRecordNotResetByReenqueue(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()), naq.WithPendingRecords())
	if err != nil {
		t.Fatal(err)
	}
	j, _ := naq.NewJob("x", nil, naq.JobID("same-job"))
	if err := c.EnqueueJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	// A worker's record replaces the pending one...
	js, _ := jetstream.New(nc)
	kv, _ := js.KeyValue(ctx, "naq_job_status")
	if _, err := kv.Put(ctx, "same-job", []byte(`{"job_id":"same-job","state":"retrying","attempts":2,"naks":1}`)); err != nil {
		t.Fatal(err)
	}
	// ...and enqueueing the same job again succeeds without touching it.
	if err := c.EnqueueJob(ctx, j); err != nil {
		t.Fatalf("re-enqueue: %v", err)
	}
	st, err := c.Status(ctx, "same-job")
	if err != nil || st.State != naq.StateRetrying || st.Attempts != 2 {
		t.Fatalf("%+v %v", st, err)
	}
}
