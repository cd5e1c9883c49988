package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/naqgo/naq"
)

func filterOf(r *http.Request) naq.FailedFilter {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	return naq.FailedFilter{Queue: q.Get("queue"), Function: q.Get("function"), ErrorKind: q.Get("kind")}
}

func filterQuery(f naq.FailedFilter) string {
	return query("queue", f.Queue, "function", f.Function, "kind", f.ErrorKind)
}

func (h *Handler) failedList(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	page, err := h.c.FailedPage(r.Context(), naq.FailedQuery{FailedFilter: f, From: from, Limit: pageSize})
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	counts, err := h.c.FailedCounts(r.Context())
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	var total uint64
	for _, n := range counts {
		total += n
	}
	h.render(w, r, "failed", "Failed jobs", map[string]any{
		"F": f, "Page": page, "From": from, "Counts": counts, "Total": total,
	})
}

func (h *Handler) failedDetail(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("%q is not a record sequence", r.PathValue("seq")))
		return
	}
	rec, err := h.c.FailedJob(r.Context(), seq)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	h.render(w, r, "failed_detail", fmt.Sprintf("Failed job %d", seq), rec)
}

func (h *Handler) failedAction(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r) {
		return
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("%q is not a record sequence", r.PathValue("seq")))
		return
	}
	switch r.PathValue("action") {
	case "requeue":
		j, err := h.c.RequeueFailed(r.Context(), seq)
		if err != nil {
			h.fail(w, r, statusOf(err), err)
			return
		}
		h.back(w, r, "/jobs/"+url.PathEscape(j.ID), fmt.Sprintf("job %s requeued on %s", j.ID, j.Queue))
	case "delete":
		if err := h.c.DeleteFailed(r.Context(), seq); err != nil {
			h.fail(w, r, statusOf(err), err)
			return
		}
		h.back(w, r, "/failed", fmt.Sprintf("failed record %d deleted", seq))
	default:
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no failed-job action %q", r.PathValue("action")))
	}
}

func (h *Handler) failedConfirm(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	what := "every failed job"
	if f != (naq.FailedFilter{}) {
		what = fmt.Sprintf("every failed job matching queue=%q function=%q kind=%q", f.Queue, f.Function, f.ErrorKind)
	}
	var q string
	switch r.PathValue("action") {
	case "requeue":
		q = "Requeue " + what + "? Records that hold no job stay."
	case "delete":
		q = "Delete " + what + "?"
	default:
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no failed-job action %q", r.PathValue("action")))
		return
	}
	h.render(w, r, "confirm", "Confirm", map[string]any{
		"Question": q, "Action": "/failed/matching/" + r.PathValue("action"), "Button": r.PathValue("action"),
		"Filter": f, "Back": "/failed" + filterQuery(f),
	})
}

func (h *Handler) failedMatching(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r) {
		return
	}
	f := filterOf(r)
	var n int
	var err error
	verb := "requeued"
	switch r.PathValue("action") {
	case "requeue":
		n, err = h.c.RequeueFailedMatching(r.Context(), f, nil)
	case "delete":
		verb = "deleted"
		n, err = h.c.DeleteFailedMatching(r.Context(), f)
	default:
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no failed-job action %q", r.PathValue("action")))
		return
	}
	msg := fmt.Sprintf("%s %d failed jobs", verb, n)
	if err != nil {
		if n == 0 && !errors.Is(err, naq.ErrNotRequeueable) {
			h.fail(w, r, statusOf(err), err)
			return
		}
		msg += "; some were not: " + firstLine(err.Error())
	}
	h.back(w, r, "/failed"+filterQuery(f), msg)
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
