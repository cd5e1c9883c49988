package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/naqgo/naq"
)

func (h *Handler) jobLookup(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		h.fail(w, r, http.StatusBadRequest, errors.New("give a job id"))
		return
	}
	http.Redirect(w, r, h.cfg.prefix+"/jobs/"+url.PathEscape(id), http.StatusSeeOther)
}

type dependency struct {
	ID    string
	Name  string // the dependent's function, for the jobs that wait
	State string
}

type jobView struct {
	ID        string
	Status    *naq.JobStatus
	StatusErr string
	Result    *naq.Result
	Job       *naq.Job // from its message or failed record, when known
	Message   *naq.QueuedJob
	FailedSeq uint64
	Args      []string
	Kwargs    map[string]string
	// ArgsFromResult: the arguments come from the result record.
	ArgsFromResult bool
	Deps           []dependency
	Dependents     []dependency // jobs that wait for this one (depends_on)
	MoreDeps       int          // dependents beyond those shown
	DepsNote       string
	Events         []naq.Event
	EventsNote     string
	RunningFor     time.Duration
	Cancelable     bool
}

func (h *Handler) job(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := jobView{ID: r.PathValue("id")}
	st, err := h.c.Status(ctx, v.ID)
	switch {
	case errors.Is(err, naq.ErrInvalidJob):
		h.fail(w, r, http.StatusBadRequest, err)
		return
	case errors.Is(err, naq.ErrJobNotFound):
		v.StatusErr = "no status record: the id is unknown, the job expired, or no worker has picked it up yet"
	case err != nil:
		v.StatusErr = err.Error()
	default:
		v.Status = st
	}
	if st != nil && st.State.Terminal() {
		if res, err := h.c.Result(ctx, v.ID); err == nil {
			v.Result = res
		}
	}
	if st != nil && st.State == naq.StateRunning && !st.StartedAt.IsZero() {
		v.RunningFor = time.Since(st.StartedAt)
	}
	v.Cancelable = st == nil || !st.State.Terminal()
	// The job's arguments live in its message (while it waits or runs) or in
	// its failed record: the pages that link here say where.
	q := r.URL.Query()
	if s, err := strconv.ParseUint(q.Get("seq"), 10, 64); err == nil {
		if m, err := h.c.QueuedJobAt(ctx, s); err == nil && m.Job != nil && m.Job.ID == v.ID {
			v.Message, v.Job = m, m.Job
		}
	}
	if s, err := strconv.ParseUint(q.Get("failed"), 10, 64); err == nil && v.Job == nil {
		if rec, err := h.c.FailedJob(ctx, s); err == nil && rec.JobID == v.ID && len(rec.Job) > 0 {
			if j, err := naq.DecodeJob(rec.Job); err == nil {
				v.Job, v.FailedSeq = j, s
			}
		}
	}
	if v.Job == nil && st != nil && (st.State == naq.StateRunning || st.State == naq.StateRetrying) && st.Queue != "" {
		v.Message, v.Job = h.findDelivered(r, st.Queue, v.ID)
	}
	if v.Job == nil && v.Result != nil && (v.Result.Args != nil || v.Result.Kwargs != nil) {
		// A finished job's arguments, kept by a worker with WithResultArgs.
		v.ArgsFromResult = true
		v.Args, v.Kwargs = prettyArgs(v.Result.Args, v.Result.Kwargs)
	}
	if v.Job != nil {
		v.Args, v.Kwargs = prettyArgs(v.Job.Args, v.Job.Kwargs)
		for _, d := range v.Job.DependsOn {
			dep := dependency{ID: d, State: "unknown"}
			if ds, err := h.c.Status(ctx, d); err == nil {
				dep.State = string(ds.State)
			}
			v.Deps = append(v.Deps, dep)
		}
	}
	h.dependents(r, &v)
	evs, err := h.c.EventHistory(ctx, v.ID)
	switch {
	case errors.Is(err, naq.ErrEventsNotStored):
		v.EventsNote = "events are not stored (naq events persist turns that on)"
	case err != nil:
		v.EventsNote = err.Error()
	default:
		v.Events = evs
	}
	h.render(w, r, "job", "Job "+v.ID, v)
}

// prettyArgs indents a job's arguments for display.
func prettyArgs(args []json.RawMessage, kwargs map[string]json.RawMessage) ([]string, map[string]string) {
	var out []string
	for _, a := range args {
		out = append(out, prettyJSON(a))
	}
	kw := map[string]string{}
	for k, a := range kwargs {
		kw[k] = prettyJSON(a)
	}
	return out, kw
}

// maxDependentsShown bounds the dependents a job's page lists.
const maxDependentsShown = 100

// dependents fills in the jobs that wait for v's job through depends_on.
func (h *Handler) dependents(r *http.Request, v *jobView) {
	ds, err := h.c.Dependents(r.Context(), v.ID)
	if err != nil {
		v.DepsNote = err.Error()
		return
	}
	if len(ds) > maxDependentsShown {
		v.MoreDeps = len(ds) - maxDependentsShown
		ds = ds[:maxDependentsShown]
	}
	for _, d := range ds {
		dep := dependency{ID: d.JobID, Name: d.Name, State: string(d.State)}
		if dep.State == "" {
			dep.State = "unknown"
		}
		v.Dependents = append(v.Dependents, dep)
	}
}

// maxDeliveredScan bounds the look for a running job's message: the
// messages handed to workers and not yet answered, a window the size of the
// queue's running jobs.
const maxDeliveredScan = 200

// findDelivered finds a running or retrying job's message among the queue's
// delivered ones (between the consumer's ack floor and its delivered
// sequence), reading at most maxDeliveredScan of them.
func (h *Handler) findDelivered(r *http.Request, queue, id string) (*naq.QueuedJob, *naq.Job) {
	qi, err := h.c.Queue(r.Context(), queue)
	if err != nil || !qi.Consumer {
		return nil, nil
	}
	page, err := h.c.QueueJobs(r.Context(), queue, qi.AckFloor+1, maxDeliveredScan)
	if err != nil {
		return nil, nil
	}
	for i := range page.Jobs {
		m := &page.Jobs[i]
		if !m.Delivered {
			break
		}
		if m.Job != nil && m.Job.ID == id {
			return m, m.Job
		}
	}
	return nil, nil
}

func (h *Handler) jobCancel(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := h.c.Cancel(r.Context(), id); err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	h.back(w, r, "/jobs/"+url.PathEscape(id), fmt.Sprintf("job %s cancelled", id))
}
