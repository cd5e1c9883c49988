package naq_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
