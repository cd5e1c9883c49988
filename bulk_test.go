package naq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// EnqueueMany reuses its messages once the server answered them: a batch
// several windows long (4,096 writes in flight), on two queues and with
// pending records, stores every job exactly as Encode writes it, under its
// own id.
func TestEnqueueManyStoresEachJobAsEncoded(t *testing.T) {
	c, _ := newClient(t, naq.WithPendingRecords())
	ctx := t.Context()
	const n = 12000
	jobs := make([]*naq.Job, n)
	want := map[string]string{}
	for i := range jobs {
		q := "bulk-a"
		if i%3 == 0 {
			q = "bulk-b"
		}
		// Sizes vary, so a reused buffer holding a longer job's bytes shows.
		args := naq.Kwargs{"n": i, "pad": fmt.Sprintf("%0*d", i%97, i)}
		j, err := naq.NewJob("tasks:x", args, naq.Queue(q))
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = j
	}
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		data, err := j.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want[j.ID] = string(data)
	}
	cons, err := jobsStream(t, c).CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < n {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		before := got
		for m := range batch.Messages() {
			got++
			id := m.Headers().Get(jetstream.MsgIDHeader)
			w, ok := want[id]
			if !ok {
				t.Fatalf("message %d has id %q, which no job has (or a second time)", got, id)
			}
			if string(m.Data()) != w {
				t.Fatalf("job %s stored as\n%s\nwant\n%s", id, m.Data(), w)
			}
			if q := jobOf(t, m.Data()).Queue; m.Subject() != "naq.queue."+q {
				t.Errorf("job %s of queue %s stored on %s", id, q, m.Subject())
			}
			delete(want, id)
		}
		if err := batch.Error(); err != nil && got == before {
			t.Fatal(err)
		}
	}
	if len(want) != 0 {
		t.Errorf("%d jobs not stored", len(want))
	}
}

func jobOf(t *testing.T, data []byte) *naq.Job {
	t.Helper()
	j, err := naq.DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A batch whose context ends while writes are in flight reports the jobs not
// confirmed and leaves the messages to the writers that still hold them:
// enqueueing the same jobs again stores each once.
func TestEnqueueManyCancelledThenAgain(t *testing.T) {
	c, _ := newClient(t)
	jobs := manyJobs(t, 20000, "bulk-cancel")
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		time.Sleep(5 * time.Millisecond)
		cancel()
	}()
	_ = c.EnqueueMany(ctx, jobs) // may end either way: the machine decides
	if err := c.EnqueueMany(t.Context(), jobs); err != nil {
		t.Fatal(err)
	}
	if n := storedOn(t, c, "bulk-cancel"); n != 20000 {
		t.Errorf("%d jobs stored, want 20000", n)
	}
}
