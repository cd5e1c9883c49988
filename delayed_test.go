package naq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// A job delayed past the status record's 24 hours is still known: Status and
// Result read its schedule once the record has gone.
func TestDelayedJobOutlivesItsStatusRecord(t *testing.T) {
	c, nc := newClient(t)
	ctx := context.Background()
	due := time.Now().Add(48 * time.Hour)
	job, err := c.EnqueueAt(ctx, due, "later", nil, naq.MaxRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	status, err := js.KeyValue(ctx, "naq_job_status")
	if err != nil {
		t.Fatal(err)
	}
	if err := status.Purge(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != naq.StateScheduled || !st.NextAttemptAt.Equal(due.UTC()) || st.Name != "later" || st.MaxRetries != 2 {
		t.Errorf("status = %+v; want scheduled for %v", st, due.UTC())
	}
	if _, err := c.Result(ctx, job.ID); !errors.Is(err, naq.ErrResultNotReady) {
		t.Errorf("Result = %v, want ErrResultNotReady", err)
	}
}
