package dashboard

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/naqgo/naq"
)

type queueRow struct {
	naq.QueueInfo
	Failed    uint64
	Oldest    time.Time // stored time of the oldest pending job; zero when none
	PerMinute int64
}

type streamRow struct {
	Name     string
	Msgs     uint64
	Bytes    uint64
	Leader   string
	Replicas []string
}

type health struct {
	Storage   uint64
	Streams   []streamRow
	Nodes     []string
	Cluster   string
	Connected string
	Err       string
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rows, err := h.queueRows(ctx)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, err)
		return
	}
	ws, err := h.c.ListWorkers(ctx)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, err)
		return
	}
	alive := 0
	for _, wk := range ws {
		if !wk.Stale {
			alive++
		}
	}
	h.render(w, r, "overview", "Overview", map[string]any{
		"Queues": rows, "Alive": alive, "Stale": len(ws) - alive,
		"Chart": h.history.chart("", time.Now()), "Health": h.health(ctx),
	})
}

// queueRows reads every queue with its failed records, oldest pending job
// and last minute's throughput: one lookup per queue beyond the listing.
func (h *Handler) queueRows(ctx context.Context) ([]queueRow, error) {
	qs, err := h.c.Queues(ctx)
	if err != nil {
		return nil, err
	}
	failed, err := h.c.FailedCounts(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rows := make([]queueRow, 0, len(qs)+len(failed))
	seen := map[string]bool{}
	for _, q := range qs {
		row := queueRow{QueueInfo: q, Failed: failed[q.Queue], PerMinute: h.history.perMinute(q.Queue, now)}
		seen[q.Queue] = true
		if q.Pending > 0 {
			if page, err := h.c.QueueJobs(ctx, q.Queue, q.Delivered+1, 1); err == nil && len(page.Jobs) > 0 {
				row.Oldest = page.Jobs[0].Stored
			}
		}
		rows = append(rows, row)
	}
	// A queue whose jobs all failed has no messages and maybe no consumer,
	// but its failures belong on the list.
	for q, n := range failed {
		if !seen[q] && q != "unknown" {
			rows = append(rows, queueRow{QueueInfo: naq.QueueInfo{Queue: q}, Failed: n})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Queue < rows[j].Queue })
	return rows, nil
}

// health reads the account's storage and the naq streams' placement; a
// failure here shows on the page rather than failing it.
func (h *Handler) health(ctx context.Context) health {
	var hl health
	js := h.c.JetStream()
	hl.Connected = h.c.Conn().ConnectedServerName()
	if ai, err := js.AccountInfo(ctx); err == nil {
		hl.Storage = ai.Store
	} else {
		hl.Err = err.Error()
		return hl
	}
	nodes := map[string]bool{}
	lister := js.ListStreams(ctx)
	for si := range lister.Info() {
		if !strings.HasPrefix(si.Config.Name, "naq_") && !strings.HasPrefix(si.Config.Name, "KV_naq_") {
			continue
		}
		row := streamRow{Name: si.Config.Name, Msgs: si.State.Msgs, Bytes: si.State.Bytes, Leader: "-"}
		if ci := si.Cluster; ci != nil {
			hl.Cluster = ci.Name
			if ci.Leader != "" {
				row.Leader = ci.Leader
				nodes[ci.Leader] = true
			}
			for _, p := range ci.Replicas {
				state := p.Name
				if !p.Current {
					state += " (catching up)"
				}
				if p.Offline {
					state = p.Name + " (offline)"
				}
				row.Replicas = append(row.Replicas, state)
				nodes[p.Name] = true
			}
		}
		hl.Streams = append(hl.Streams, row)
	}
	if err := lister.Err(); err != nil {
		hl.Err = err.Error()
	}
	for n := range nodes {
		hl.Nodes = append(hl.Nodes, n)
	}
	sort.Strings(hl.Nodes)
	sort.Slice(hl.Streams, func(i, j int) bool { return hl.Streams[i].Name < hl.Streams[j].Name })
	return hl
}
