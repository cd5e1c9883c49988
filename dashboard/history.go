package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/naqgo/naq"
)

// history keeps jobs finished and failed per queue per minute over the last
// hour, from the deltas of the workers' heartbeat counters: no write per job,
// and nothing to store. It starts empty when the dashboard starts.
type history struct {
	mu      sync.Mutex
	span    time.Duration
	minutes map[int64]map[string]*minute // unix minute -> queue
	last    map[string]map[string]naq.QueueCounters
}

type minute struct{ Processed, Failed int64 }

func newHistory(span time.Duration) *history {
	return &history{span: span, minutes: map[int64]map[string]*minute{}, last: map[string]map[string]naq.QueueCounters{}}
}

// sample reads the workers' counters every interval until ctx ends.
func (h *Handler) sample(ctx context.Context) {
	t := time.NewTicker(h.cfg.sampleInt)
	defer t.Stop()
	for {
		ws, err := h.c.ListWorkers(ctx)
		if err == nil {
			h.history.add(time.Now(), ws)
		} else if ctx.Err() == nil {
			h.cfg.log.Debug("dashboard: sample workers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// add counts what each worker did since its last sample. A worker seen for
// the first time is a baseline; one whose counters went down restarted, and
// counts from zero.
func (h *history) add(now time.Time, ws []naq.WorkerInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := now.Unix() / 60
	seen := map[string]bool{}
	for _, w := range ws {
		seen[w.ID] = true
		prev, known := h.last[w.ID]
		h.last[w.ID] = w.QueueStats
		if !known {
			continue
		}
		for q, c := range w.QueueStats {
			p := prev[q]
			if c.Processed < p.Processed || c.Failed < p.Failed {
				p = naq.QueueCounters{}
			}
			if c.Processed == p.Processed && c.Failed == p.Failed {
				continue
			}
			if h.minutes[m] == nil {
				h.minutes[m] = map[string]*minute{}
			}
			if h.minutes[m][q] == nil {
				h.minutes[m][q] = &minute{}
			}
			h.minutes[m][q].Processed += c.Processed - p.Processed
			h.minutes[m][q].Failed += c.Failed - p.Failed
		}
	}
	for id := range h.last {
		if !seen[id] {
			delete(h.last, id)
		}
	}
	oldest := m - int64(h.span/time.Minute)
	for k := range h.minutes {
		if k <= oldest {
			delete(h.minutes, k)
		}
	}
}

// chart is a throughput chart as the templates draw it (an SVG polyline).
type chart struct {
	Width, Height    int
	Processed, Fails string // polyline points
	Max              int64
	LastMinute       int64
	Total, Failed    int64
}

// chart draws the last hour of one queue ("" for all queues).
func (h *history) chart(queue string, now time.Time) chart {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := int(h.span / time.Minute)
	cur := now.Unix() / 60
	proc := make([]int64, n)
	fail := make([]int64, n)
	c := chart{Width: 600, Height: 120}
	for i := range n {
		for q, v := range h.minutes[cur-int64(n-1-i)] {
			if queue == "" || q == queue {
				proc[i] += v.Processed
				fail[i] += v.Failed
			}
		}
		c.Max = max(c.Max, proc[i])
		c.Total += proc[i]
		c.Failed += fail[i]
	}
	c.LastMinute = proc[n-1]
	c.Processed, c.Fails = points(proc, c.Max, c.Width, c.Height), points(fail, c.Max, c.Width, c.Height)
	return c
}

func points(vs []int64, top int64, w, hgt int) string {
	var sb strings.Builder
	top = max(top, 1)
	for i, v := range vs {
		x := i * w / max(len(vs)-1, 1)
		y := hgt - int(v*int64(hgt-4)/top) - 2
		fmt.Fprintf(&sb, "%d,%d ", x, y)
	}
	return strings.TrimSpace(sb.String())
}

// perMinute is a queue's jobs finished in the last full minute.
func (h *history) perMinute(queue string, now time.Time) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.minutes[now.Unix()/60-1][queue]; v != nil {
		return v.Processed
	}
	return 0
}
