package naq_test

import (
	"context"
	"errors"
	"strings"
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

// A delayed job gets its enqueued event when it is stored, saying when it
// falls due: the server later puts it on its queue with no naq process
// taking part.
func TestDelayedEnqueuePublishesEnqueued(t *testing.T) {
	c, _ := newClient(t, naq.WithEvents())
	ctx := t.Context()
	events, err := c.SubscribeEvents(ctx, naq.EventFilter{Queue: "later"})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	due := time.Now().Add(time.Hour)
	job, err := c.EnqueueAt(ctx, due, "report", nil, naq.Queue("later"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := events.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != naq.EventEnqueued || e.JobID != job.ID || e.Function != "report" {
		t.Fatalf("event = %+v, want enqueued for job %s", e, job.ID)
	}
	if e.DelayMS < 59*60*1000 || e.DelayMS > 60*60*1000 || !strings.Contains(e.Message, due.UTC().Format("2006-01-02T15:04:05")) {
		t.Errorf("delay %v ms, message %q; want about an hour, until %v", e.DelayMS, e.Message, due.UTC())
	}
}
