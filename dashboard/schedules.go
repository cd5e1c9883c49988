package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/naqgo/naq"
)

type workerRow struct {
	naq.WorkerInfo
	Age      time.Duration // since the last heartbeat
	Uptime   time.Duration
	PerMin   float64 // jobs processed per minute since it started
	InFlight int64
	Running  []runningJob
}

type runningJob struct {
	ID  string
	For time.Duration // zero when its status record says nothing
}

// maxRunningLookups bounds the status reads of the workers page.
const maxRunningLookups = 200

func (h *Handler) workers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ws, err := h.c.ListWorkers(ctx)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	now := time.Now()
	rows := make([]workerRow, 0, len(ws))
	lookups := 0
	for _, wk := range ws {
		row := workerRow{WorkerInfo: wk, Age: now.Sub(wk.LastHeartbeat), Uptime: now.Sub(wk.StartedAt)}
		if m := row.Uptime.Minutes(); m > 0 && !wk.StartedAt.IsZero() {
			row.PerMin = float64(wk.Processed) / m
		}
		for _, c := range wk.QueueStats {
			row.InFlight += c.InFlight
		}
		for _, id := range wk.RunningJobs {
			rj := runningJob{ID: id}
			if lookups < maxRunningLookups {
				lookups++
				if st, err := h.c.Status(ctx, id); err == nil && st.State == naq.StateRunning && !st.StartedAt.IsZero() {
					rj.For = now.Sub(st.StartedAt)
				}
			}
			row.Running = append(row.Running, rj)
		}
		rows = append(rows, row)
	}
	h.render(w, r, "workers", "Workers", map[string]any{"Workers": rows})
}

func (h *Handler) schedules(w http.ResponseWriter, r *http.Request) {
	ss, err := h.c.ListSchedules(r.Context())
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	h.render(w, r, "schedules", "Schedules", map[string]any{"Schedules": ss})
}

func (h *Handler) scheduleAction(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r) {
		return
	}
	ctx := r.Context()
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	msg := fmt.Sprintf("schedule %s: %s done", id, action)
	switch action {
	case "pause":
		_, err = h.c.PauseSchedule(ctx, id)
	case "resume":
		_, err = h.c.ResumeSchedule(ctx, id)
	case "cancel":
		_, err = h.c.CancelSchedule(ctx, id)
	case "delete":
		err = h.c.DeleteSchedule(ctx, id)
	case "trigger":
		var j *naq.Job
		if j, err = h.c.TriggerSchedule(ctx, id); err == nil {
			msg = fmt.Sprintf("schedule %s triggered: job %s", id, j.ID)
		}
	default:
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no schedule action %q", action))
		return
	}
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	h.back(w, r, "/schedules#s-"+url.PathEscape(id), msg)
}
