package scheduler_test

import (
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/scheduler"
)

// With events on, every occurrence the leader enqueues is announced as any
// other job is: an enqueued event on its queue.
func TestOccurrencesPublishEnqueued(t *testing.T) {
	e := newEnv(t)
	events, err := e.client.SubscribeEvents(t.Context(), naq.EventFilter{Queue: "ticks", Types: []naq.EventType{naq.EventEnqueued}})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	s, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.Repeat(2),
		naq.ScheduleID("announced"), naq.WithJobOptions(naq.Queue("ticks")))
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, "solo", 2*time.Second, nil, scheduler.WithEvents())
	for i := range 2 {
		ev, err := events.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := s.OccurrenceID(s.NextRun.Add(time.Duration(i) * time.Second)); ev.JobID != want || ev.Function != "tick" {
			t.Errorf("event %d = %+v, want enqueued for occurrence %s", i, ev, want)
		}
	}
}
