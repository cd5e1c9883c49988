package worker

// Dependencies' results for the job that waits on them: the readiness check
// of depends_on, which also hands a workflow step the results of the steps
// before it (naq.DependencyResults in its handler).

import (
	"context"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/records"
)

// DependencyResults reads the result of each of job's dependencies, as
// CheckDependencies does, and returns them in the order of job.DependsOn
// once they are ready. A job with AllowFailedDependencies (a group callback
// run also on failure) is ready once every dependency has finished, however
// it ended; any other job fails at the first failed or cancelled one.
func (m *JobStatusManager) DependencyResults(ctx context.Context, job *naq.Job) (DependencyState, string, []*naq.Result, error) {
	state, waitingFor := DepsReady, ""
	results := make([]*naq.Result, 0, len(job.DependsOn))
	for _, dep := range job.DependsOn {
		r, err := m.Result(ctx, dep)
		if err != nil {
			return 0, "", nil, err
		}
		var st *naq.JobStatus
		if r == nil {
			// No result, or an unreadable one: the status record may say how
			// the job ended.
			if st, err = m.Status(ctx, dep); err != nil {
				return 0, "", nil, err
			}
		}
		verdict := records.Dependency((*records.Result)(r), (*records.Status)(st))
		if verdict == records.DepWaiting {
			state, waitingFor = DepsWaiting, dep
			continue
		}
		if verdict == records.DepFailed && !(job.Workflow != nil && job.Workflow.AllowFailedDependencies) {
			return DepsFailed, dep, nil, nil
		}
		if r == nil {
			r = resultFromStatus(dep, st)
		}
		if r.JobID == "" { // a record written without its id (Python naq's)
			r.JobID = dep
		}
		results = append(results, r)
	}
	if state != DepsReady {
		return state, waitingFor, nil, nil
	}
	return DepsReady, "", results, nil
}

// resultFromStatus stands in for the result of a finished dependency that
// has only its status record (its result expired or is unreadable): how it
// ended, without a value.
func resultFromStatus(id string, st *naq.JobStatus) *naq.Result {
	r := &naq.Result{Status: st.State, JobID: id, Name: st.Name, Queue: st.Queue, Attempts: st.Attempts, FinishedAt: st.FinishedAt}
	if st.State != naq.StateCompleted {
		msg := st.Error
		r.Error = &msg
	}
	return r
}
