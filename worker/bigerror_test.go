package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// An error text of 2 MB is cut in the events as in the records: the failed
// and retry events still reach their readers.
func TestEventsOfAHugeErrorArrive(t *testing.T) {
	e := newEnv(t)
	producer, err := naq.NewClient(t.Context(), e.nc, naq.WithEvents())
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", 2<<20)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("huge", func(context.Context, *naq.Job) (any, error) { return nil, errors.New(huge) })
	}, worker.WithEvents())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got []naq.Event
	go func() {
		_ = producer.FollowEvents(ctx, naq.EventFilter{Queue: naq.DefaultQueue}, func(ev naq.Event) {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		})
	}()
	time.Sleep(100 * time.Millisecond) // FollowEvents flushes its subscription; give it the chance
	j, err := producer.Enqueue(t.Context(), "huge", nil, naq.MaxRetries(1), naq.RetryDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, j.ID)
	testutil.Eventually(t, 30*time.Second, "the failed and retry events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var failed, retry int
		for _, ev := range got {
			if ev.JobID != j.ID {
				continue
			}
			if len(ev.Error) >= len(huge) || !strings.HasPrefix(ev.Error, "xxx") && ev.Error != "" {
				t.Errorf("%s event's error text is %d bytes", ev.Type, len(ev.Error))
			}
			switch ev.Type {
			case naq.EventFailed:
				failed++
			case naq.EventRetryScheduled:
				retry++
			}
		}
		return failed == 2 && retry == 1
	})
}
