package worker

// Progress reports (naq.Progress): kept per running job, written to the
// job's status record at most once a second, the latest report winning.

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/naqgo/naq"
)

// progressEvery is the least time between two progress writes of one job.
const progressEvery = time.Second

// progressBook holds the progress of the running jobs that reported some.
// Jobs that never report cost one atomic load at their end.
type progressBook struct {
	any sync.Map    // *naq.Job → *progress
	on  atomic.Bool // some job reported progress once: ends look in the map
}

// progress is one job's reports: the last one written, and the latest one
// waiting for its second.
type progress struct {
	r   *run
	job *naq.Job
	rn  *running // the job's entry in inflight

	mu      sync.Mutex
	last    time.Time // when the last write went out
	wrote   bool
	pending bool // a report waits for its second
	frac    float64
	msg     string
	timer   *time.Timer
	closed  bool // the job has ended: nothing more is written
}

// Progress takes a report of a running job (jobctx.Reporter).
func (r *run) Progress(job any, fraction float64, message string) {
	j, ok := job.(*naq.Job)
	if !ok {
		return
	}
	p := r.progressOf(j)
	if p == nil {
		return // not running here (a handler that outlived its job)
	}
	p.report(fraction, message)
}

func (r *run) progressOf(j *naq.Job) *progress {
	if v, ok := r.progress.any.Load(j); ok {
		return v.(*progress)
	}
	rn := r.inflight.find(j)
	if rn == nil {
		return nil
	}
	r.progress.on.Store(true)
	v, _ := r.progress.any.LoadOrStore(j, &progress{r: r, job: j, rn: rn})
	return v.(*progress)
}

// progressEnd stops j's reports before its final record is written, and
// reports whether a progress record was written (the final record must then
// replace it).
func (r *run) progressEnd(j *naq.Job) (wrote bool) {
	if !r.progress.on.Load() {
		return false
	}
	v, ok := r.progress.any.LoadAndDelete(j)
	if !ok {
		return false
	}
	p := v.(*progress)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
	return p.wrote
}

func (p *progress) report(fraction float64, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.frac, p.msg, p.pending = fraction, message, true
	if wait := progressEvery - time.Since(p.last); p.wrote && wait > 0 {
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.flush)
		}
		return
	}
	p.write()
}

// flush writes the report that waited for its second.
func (p *progress) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if !p.closed && p.pending {
		p.write()
	}
}

// write sends the latest report, under p.mu: a job's end (progressEnd) waits
// for it, so it always goes out before the job's final record.
func (p *progress) write() {
	r := p.r
	p.last, p.wrote, p.pending = time.Now(), true, false
	// Marked first: the keepalive's running record, which has no progress,
	// either went out before this write or is not written at all.
	r.inflight.recorded(p.rn)
	st := r.jobs.statusOf(p.job, naq.StateRunning)
	st.StartedAt, st.Naks = p.rn.started, int(p.rn.naks)
	st.Progress = &naq.JobProgress{Fraction: p.frac, Message: p.msg, UpdatedAt: p.last.UTC()}
	if err := r.jobs.publishStatus(st); err != nil {
		r.sh.Logger.Warn("progress write failed", "job", p.job.ID, "err", err)
	}
	if r.obs != nil {
		e := r.obs.job(naq.EventProgress, p.job, nil)
		e.Progress, e.Message = new(p.frac), p.msg
		r.obs.emit(&e)
	}
}
