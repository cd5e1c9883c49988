package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// A handler that reports progress 500 times in a row is seen in Status and in
// events, with its latest report, and loads the server with at most one
// write a second.
func TestProgressIsVisibleAndThrottled(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var progressEvents []naq.Event
	sub, err := e.nc.Subscribe(naq.EventsSubjectPrefix+".>", func(m *nats.Msg) {
		var ev naq.Event
		if json.Unmarshal(m.Data, &ev) == nil && ev.Type == naq.EventProgress {
			mu.Lock()
			progressEvents = append(progressEvents, ev)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	reported := make(chan time.Time, 1)
	release := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("pages", func(ctx context.Context, job *naq.Job) (any, error) {
			start := time.Now()
			for i := 1; i <= 500; i++ {
				if err := naq.Progress(ctx, float64(i)/500, fmt.Sprintf("page %d of 500", i)); err != nil {
					return nil, err
				}
			}
			reported <- start
			<-release
			return nil, nil
		})
	}, worker.WithEvents())

	j, err := e.client.Enqueue(t.Context(), "pages", nil)
	if err != nil {
		t.Fatal(err)
	}
	var start time.Time
	select {
	case start = <-reported:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler never reported")
	}
	var st *naq.JobStatus
	testutil.Eventually(t, 10*time.Second, "the last report in the status", func() bool {
		st, err = e.client.Status(t.Context(), j.ID)
		return err == nil && st.Progress != nil && st.Progress.Fraction == 1
	})
	if st.State != naq.StateRunning || st.Progress.Message != "page 500 of 500" || st.Progress.UpdatedAt.IsZero() {
		t.Errorf("status while running: %+v, progress %+v", st, st.Progress)
	}
	testutil.Eventually(t, 10*time.Second, "the last progress event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := len(progressEvents)
		return n > 0 && progressEvents[n-1].Progress != nil && *progressEvents[n-1].Progress == 1
	})
	// The first report is written at once, the latest when its second is up;
	// reports in between only replace the one waiting.
	elapsed := time.Since(start)
	mu.Lock()
	n := len(progressEvents)
	first := progressEvents[0]
	mu.Unlock()
	if limit := int(math.Ceil(elapsed.Seconds())) + 1; n > limit {
		t.Errorf("%d progress writes in the %s since the first of 500 reports; want at most %d", n, elapsed, limit)
	}
	if first.JobID != j.ID || first.Message != "page 1 of 500" || *first.Progress != 0.002 {
		t.Errorf("first progress event: %+v", first)
	}
	close(release)
	if res := e.wait(t, j.ID); res.Status != naq.StateCompleted {
		t.Fatalf("result: %+v", res)
	}
	if st, err := e.client.Status(t.Context(), j.ID); err != nil || st.State != naq.StateCompleted {
		t.Errorf("status after the end: %+v %v", st, err)
	}
}

func TestProgressRefusesBadReports(t *testing.T) {
	ctx := context.Background()
	for _, f := range []float64{-0.1, 1.01, math.NaN(), math.Inf(1)} {
		if err := naq.Progress(ctx, f, ""); err == nil {
			t.Errorf("progress %v accepted", f)
		}
	}
	if err := naq.Progress(ctx, 0.5, string([]byte{0xff})); err == nil {
		t.Error("a message that is not UTF-8 was accepted")
	}
	if err := naq.Progress(ctx, 0.5, "outside a worker"); err != nil {
		t.Errorf("outside a worker: %v, want nothing done", err)
	}
}
