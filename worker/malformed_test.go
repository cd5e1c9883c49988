package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// bigMalformed is a message of 800 KB without a job_id: base64-encoded in
// its record it would be about 1.07 MB, over the default 1 MB max payload.
// Its text has two-byte characters, which a cut must not split; lead more
// bytes before them move where the cut falls.
func bigMalformed(lead int) []byte {
	return []byte(`{"function":"ok","pad":"` + strings.Repeat("b", lead) + strings.Repeat("aé", 800<<10/3) + `"}`)
}

// enqueueAround enqueues a good job, publishes bodies, then enqueues another
// good job, and returns the good jobs' ids.
func enqueueAround(t *testing.T, e *env, bodies ...[]byte) []string {
	t.Helper()
	first, err := e.client.Enqueue(t.Context(), "ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(e.nc)
	for _, body := range bodies {
		if _, err := js.Publish(t.Context(), "naq.queue.naq_default_queue", body); err != nil {
			t.Fatal(err)
		}
	}
	last, err := e.client.Enqueue(t.Context(), "ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	return []string{first.ID, last.ID}
}

// consumerCounts are the worker consumer's deliveries awaiting an answer, and
// redeliveries.
func consumerCounts(t *testing.T, e *env) (ackPending, redelivered int) {
	t.Helper()
	js, _ := jetstream.New(e.nc)
	c, err := js.Consumer(t.Context(), "naq_jobs", "naq-worker-naq_default_queue")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.NumAckPending, info.NumRedelivered
}

// A malformed message too large for its record to hold it whole is recorded
// with the start of its bytes, says so, and is not redelivered; the jobs
// around it run once each.
func TestLargeMalformedMessageRecordedCut(t *testing.T) {
	e := newEnv(t)
	var runs sync32
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("ok", func(ctx context.Context, j *naq.Job) (any, error) { runs.inc(j.ID); return "ok", nil })
	})
	var list [][]byte
	bodies := map[int][]byte{} // by length
	for lead := range 3 {      // one of three would cut a character in two
		b := bigMalformed(lead)
		list, bodies[len(b)] = append(list, b), b
	}
	good := enqueueAround(t, e, list...)
	for _, id := range good {
		if res := e.wait(t, id); res.Status != naq.StateCompleted {
			t.Fatalf("job %s: %+v", id, res)
		}
	}
	var recs []naq.FailedJob
	testutil.Eventually(t, 30*time.Second, "the malformed records", func() bool { recs = failedRecords(t, e); return len(recs) >= len(bodies) })
	// Most of what fits is kept: the record is within the max payload, and
	// its base64 takes 4 bytes for every 3 kept.
	maxKept := int(e.nc.MaxPayload()) * 3 / 4
	for _, r := range recs {
		body := bodies[r.RawSize]
		if body == nil || !r.Malformed || r.ErrorKind != "naq:MalformedJob" || r.RawEncoding != "base64" {
			t.Fatalf("record of %d bytes: %q", r.RawSize, r.Error)
		}
		if !r.RawTruncated || len(r.Raw) < maxKept-8<<10 || len(r.Raw) > maxKept || !bytes.HasPrefix(body, r.Raw) || !utf8.Valid(r.Raw) {
			t.Fatalf("raw: truncated %v, kept %d of %d (at most %d), a prefix: %v, text: %v",
				r.RawTruncated, len(r.Raw), len(body), maxKept, bytes.HasPrefix(body, r.Raw), utf8.Valid(r.Raw))
		}
		note := fmt.Sprintf("raw body cut from %d to %d bytes", len(body), len(r.Raw))
		if !strings.Contains(r.Error, `missing "job_id"`) || !strings.Contains(r.Error, note) {
			t.Errorf("error %q, want the decode error and %q", r.Error, note)
		}
		delete(bodies, r.RawSize)
	}
	testutil.Eventually(t, 10*time.Second, "naq_jobs to empty", func() bool { return jobsLeft(t, e) == 0 })
	time.Sleep(500 * time.Millisecond) // room for a redelivery, were there one
	if pending, redelivered := consumerCounts(t, e); pending != 0 || redelivered != 0 {
		t.Errorf("ack pending %d, redelivered %d; want none", pending, redelivered)
	}
	if n := len(failedRecords(t, e)); n != 3 || len(bodies) != 0 {
		t.Errorf("%d failed records, want 3, one for each message", n)
	}
	for _, id := range good {
		if n := runs.get(id); n != 1 {
			t.Errorf("job %s ran %d times, want once", id, n)
		}
	}
}

// A failed-jobs stream with a max message size below the max payload holds a
// malformed message's record with less of its bytes. When the limit was
// lowered after the worker read it, the refused record is written again
// smaller; when not even that fits, the message is dropped with an error
// logged instead of being redelivered forever.
func TestMalformedRecordOverStreamLimit(t *testing.T) {
	for _, c := range []struct {
		name        string
		limit       int32
		beforeStart bool // the worker reads the limit when it starts
		minKept     int  // 0: no record
	}{
		{"limit known at start", 8 << 10, true, 5 << 10},
		{"limit lowered later", 8 << 10, false, 2 << 10},
		{"nothing fits", 1 << 10, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			var runs sync32
			start := func() {
				e.startWorker(t, func(w *worker.Worker) {
					w.HandleFunc("ok", func(ctx context.Context, j *naq.Job) (any, error) { runs.inc(j.ID); return "ok", nil })
				})
			}
			if !c.beforeStart {
				start()
			} else if _, err := e.client.ListFailed(t.Context(), "", 1); err != nil { // makes the stream
				t.Fatal(err)
			}
			js, _ := jetstream.New(e.nc)
			s, err := js.Stream(t.Context(), "naq_failed_jobs")
			if err != nil {
				t.Fatal(err)
			}
			cfg := s.CachedInfo().Config
			cfg.MaxMsgSize = c.limit
			if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if c.beforeStart {
				start()
			}
			body := bigMalformed(0)
			for _, id := range enqueueAround(t, e, body) {
				if res := e.wait(t, id); res.Status != naq.StateCompleted || runs.get(id) != 1 {
					t.Fatalf("job %s: %+v, ran %d times", id, res, runs.get(id))
				}
			}
			testutil.Eventually(t, 10*time.Second, "naq_jobs to empty", func() bool { return jobsLeft(t, e) == 0 })
			recs := failedRecords(t, e)
			if c.minKept == 0 {
				if len(recs) != 0 {
					t.Fatalf("%d records, want none", len(recs))
				}
				return
			}
			if len(recs) != 1 || !recs[0].RawTruncated || recs[0].RawSize != len(body) || len(recs[0].Raw) < c.minKept ||
				!bytes.HasPrefix(body, recs[0].Raw) || !strings.Contains(recs[0].Error, "raw body cut from") {
				t.Fatalf("records %+v", recs)
			}
		})
	}
}
