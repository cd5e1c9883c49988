package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// maxEventsPerSecond bounds the job events one live stream forwards: a busy
// deployment runs far more jobs than a page can show, and the rest still
// bring an update.
const maxEventsPerSecond = 20

// live streams server-sent events to an open page: "job" for each lifecycle
// event (bounded), and "update" (at most once a second) when events or
// worker heartbeats arrived, or every few seconds regardless, so pages show
// queue depths even where no events are published.
func (h *Handler) live(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	events, err := h.c.SubscribeEvents(ctx, naq.EventFilter{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = events.Close() }()
	beats := make(<-chan jetstream.KeyValueEntry)
	if kv, err := h.c.JetStream().KeyValue(ctx, layout.WorkersBucket); err == nil {
		if wt, err := kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes()); err == nil {
			defer func() { _ = wt.Stop() }()
			beats = wt.Updates()
		}
	}
	evc := make(chan naq.Event, 64)
	done := make(chan struct{})
	go func() { // ends when ctx ends: Next returns then
		defer close(done)
		for {
			e, err := events.Next(ctx)
			if err != nil {
				return
			}
			select {
			case evc <- e:
			default: // the page is behind: it gets an update anyway
			}
		}
	}()
	defer func() { <-done }()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	tick := time.NewTicker(h.cfg.liveTick)
	defer tick.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	dirty, sent := false, 0
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-evc:
			dirty = true
			if sent >= maxEventsPerSecond {
				continue
			}
			sent++
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: job\ndata: %s\n\n", b)
			fl.Flush()
		case <-beats:
			dirty = true
		case <-second.C:
			sent = 0
			if dirty {
				dirty = false
				fmt.Fprint(w, "event: update\ndata: {}\n\n")
				fl.Flush()
			}
		case <-tick.C:
			dirty = true
		}
	}
}
