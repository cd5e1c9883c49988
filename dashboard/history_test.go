package dashboard

import (
	"testing"
	"time"

	"github.com/naqgo/naq"
)

func worker(id string, processed, failed int64) naq.WorkerInfo {
	return naq.WorkerInfo{ID: id, QueueStats: map[string]naq.QueueCounters{"q": {Processed: processed, Failed: failed}}}
}

// The chart counts what workers did between samples: a worker's first
// sample is its baseline, and one that restarted counts from zero.
func TestHistoryCountsDeltas(t *testing.T) {
	h := newHistory(time.Hour)
	t0 := time.Date(2026, 1, 1, 10, 0, 5, 0, time.UTC)
	h.add(t0, []naq.WorkerInfo{worker("a", 100, 10)})
	h.add(t0.Add(10*time.Second), []naq.WorkerInfo{worker("a", 130, 12), worker("b", 7, 0)})
	h.add(t0.Add(20*time.Second), []naq.WorkerInfo{worker("a", 5, 1), worker("b", 9, 0)}) // a restarted
	h.add(t0.Add(70*time.Second), []naq.WorkerInfo{worker("a", 5, 1)})
	c := h.chart("q", t0.Add(70*time.Second))
	if c.Total != 30+5+2 || c.Failed != 2+1 {
		t.Errorf("hour: %d finished, %d failed; want 37, 3", c.Total, c.Failed)
	}
	if c.Max != 37 || c.LastMinute != 0 {
		t.Errorf("peak %d, last minute %d", c.Max, c.LastMinute)
	}
	if n := h.perMinute("q", t0.Add(70*time.Second)); n != 37 {
		t.Errorf("per minute: %d", n)
	}
	if other := h.chart("other", t0.Add(70*time.Second)); other.Total != 0 {
		t.Errorf("another queue's chart: %+v", other)
	}
	// An hour on, it is all gone.
	h.add(t0.Add(2*time.Hour), nil)
	if c := h.chart("", t0.Add(2*time.Hour)); c.Total != 0 {
		t.Errorf("after an hour: %+v", c)
	}
}
