package dashboard

import (
	"net/http"

	"github.com/naqgo/naq"
)

// workflowStepView is one step of a workflow with the steps that wait for
// it: a workflow's record holds its graph, so its page shows dependencies
// both ways without reading any job.
type workflowStepView struct {
	naq.WorkflowStep
	NeededBy []string // job ids of the steps that depend on this one
}

type workflowView struct {
	*naq.Workflow
	Steps []workflowStepView
}

func (h *Handler) workflow(w http.ResponseWriter, r *http.Request) {
	wf, err := h.c.Workflow(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	v := workflowView{Workflow: wf, Steps: make([]workflowStepView, len(wf.Steps))}
	index := make(map[string]int, len(wf.Steps))
	for i, s := range wf.Steps {
		v.Steps[i].WorkflowStep = s
		index[s.JobID] = i
	}
	for _, s := range wf.Steps {
		for _, d := range s.DependsOn {
			if i, ok := index[d]; ok {
				v.Steps[i].NeededBy = append(v.Steps[i].NeededBy, s.JobID)
			}
		}
	}
	h.render(w, r, "workflow", "Workflow "+wf.ID, v)
}
