package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/naqgo/naq"
)

const pageSize = 50

func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("queue")
	qi, err := h.c.Queue(ctx, name)
	if errors.Is(err, naq.ErrInvalidQueue) {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if errors.Is(err, naq.ErrQueueNotFound) {
		qi, err = &naq.QueueInfo{Queue: name}, nil
	}
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, err)
		return
	}
	// Pending first: the jobs no worker has been handed start after the
	// consumer's delivered sequence; running ones lie between the ack floor
	// and it.
	tab := r.URL.Query().Get("tab")
	start := qi.Delivered + 1
	switch tab {
	case "running":
		start = qi.AckFloor + 1
	case "all":
		start = 1
	default:
		tab = "pending"
	}
	from := start
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = strconv.ParseUint(v, 10, 64); err != nil {
			h.fail(w, r, http.StatusBadRequest, fmt.Errorf("from=%q is not a stream sequence", v))
			return
		}
	}
	jobs, err := h.c.QueueJobs(ctx, name, from, pageSize)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, err)
		return
	}
	if tab == "running" {
		// The running tab ends where pending jobs begin.
		for i, j := range jobs.Jobs {
			if !j.Delivered {
				jobs.Jobs, jobs.Next = jobs.Jobs[:i], 0
				break
			}
		}
	}
	failed, _ := h.c.FailedCounts(ctx)
	h.render(w, r, "queue", "Queue "+name, map[string]any{
		"Q": qi, "Tab": tab, "From": from, "Start": start, "Jobs": jobs.Jobs, "Next": jobs.Next,
		"Failed": failed[name], "Chart": h.history.chart(name, time.Now()),
	})
}

var queueActions = map[string]string{
	"purge":  "Remove every job waiting on queue %s (running ones finish, but are not recorded as acknowledged)?",
	"delete": "Delete queue %s: every job message and its consumer? Workers still configured for it make the consumer again.",
}

func (h *Handler) queueConfirm(w http.ResponseWriter, r *http.Request) {
	q, action := r.PathValue("queue"), r.PathValue("action")
	text, ok := queueActions[action]
	if !ok {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no queue action %q", action))
		return
	}
	h.render(w, r, "confirm", "Confirm", map[string]any{
		"Question": fmt.Sprintf(text, q), "Action": "/queues/" + q + "/" + action, "Button": action,
		"Back": "/queues/" + q,
	})
}

func (h *Handler) queueAction(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r) {
		return
	}
	ctx := r.Context()
	q, action := r.PathValue("queue"), r.PathValue("action")
	var msg string
	var err error
	switch action {
	case "pause":
		var until time.Time
		if d := r.PostFormValue("for"); d != "" {
			dur, perr := time.ParseDuration(d)
			if perr != nil || dur <= 0 {
				h.fail(w, r, http.StatusBadRequest, fmt.Errorf("pause for %q: give a positive duration such as 30m", d))
				return
			}
			until = time.Now().Add(dur)
		}
		if _, err = h.c.PauseQueue(ctx, q, until); err == nil {
			msg = "queue " + q + " paused"
		}
	case "resume":
		if err = h.c.ResumeQueue(ctx, q); err == nil {
			msg = "queue " + q + " resumed"
		}
	case "purge":
		var n uint64
		if n, err = h.c.Purge(ctx, q); err == nil {
			msg = fmt.Sprintf("purged %d jobs from queue %s", n, q)
		}
	case "delete":
		var n uint64
		if n, err = h.c.DeleteQueue(ctx, q); err == nil {
			h.back(w, r, "/", fmt.Sprintf("deleted queue %s (%d jobs removed)", q, n))
			return
		}
	default:
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no queue action %q", action))
		return
	}
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	h.back(w, r, "/queues/"+q, msg)
}

// statusOf maps the client's errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, naq.ErrInvalidQueue), errors.Is(err, naq.ErrInvalidJob),
		errors.Is(err, naq.ErrNotRequeueable), errors.Is(err, naq.ErrInvalidSchedule),
		errors.Is(err, naq.ErrAlreadyFinished), errors.Is(err, naq.ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, naq.ErrJobNotFound), errors.Is(err, naq.ErrQueueNotFound),
		errors.Is(err, naq.ErrScheduleNotFound), errors.Is(err, naq.ErrWorkflowNotFound):
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}
