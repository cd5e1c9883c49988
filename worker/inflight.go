package worker

// The jobs running now, by stream sequence, and the keepalive that touches
// their deliveries and writes running records for long ones. Not here:
// running them (execute.go).

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// running is one job a worker is executing.
type running struct {
	job       *naq.Job
	msg       jetstream.Msg
	started   time.Time
	cancel    context.CancelCauseFunc
	touched   time.Time // last InProgress
	hasRecord bool      // a status record was written for this attempt
	// naks: deliberate put-backs before this delivery. An int32 beside the
	// bool: the delivery holding this entry stays in its size class.
	naks int32
}

// inflight tracks running jobs by stream sequence, for heartbeats, keepalives
// and cancellation.
type inflight struct {
	mu   sync.Mutex
	jobs map[uint64]*running
}

func newInflight() *inflight { return &inflight{jobs: map[uint64]*running{}} }

func (f *inflight) add(seq uint64, r *running) {
	f.mu.Lock()
	f.jobs[seq] = r
	f.mu.Unlock()
}

// remove forgets a job and reports whether a status record was written for it.
func (f *inflight) remove(seq uint64) (hasRecord bool) {
	f.mu.Lock()
	if r, ok := f.jobs[seq]; ok {
		hasRecord = r.hasRecord
		delete(f.jobs, seq)
	}
	f.mu.Unlock()
	return hasRecord
}

func (f *inflight) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.jobs))
	for _, r := range f.jobs {
		ids = append(ids, r.job.ID)
	}
	return ids
}

// queues lists the queue of each running job.
func (f *inflight) queues() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	qs := make([]string, 0, len(f.jobs))
	for _, r := range f.jobs {
		qs = append(qs, r.job.Queue)
	}
	return qs
}

func (f *inflight) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

// cancelAll cancels the handler of every running job.
func (f *inflight) cancelAll(cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.jobs {
		r.cancel(cause)
	}
}

// cancelJob cancels the handler of every running job with the given id.
func (f *inflight) cancelJob(id string, cause error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for _, r := range f.jobs {
		if r.job.ID == id {
			r.cancel(cause)
			found = true
		}
	}
	return found
}

// due returns the jobs that need a keepalive (last touched before touchBefore),
// and calls mark, under the lock, for each job that needs a running record
// (started before markBefore, none yet). mark must not block.
func (f *inflight) due(now, touchBefore, markBefore time.Time, mark func(*running)) (touch []jetstream.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.jobs {
		if r.touched.Before(touchBefore) {
			r.touched = now
			touch = append(touch, r.msg)
		}
		if !r.hasRecord && r.started.Before(markBefore) {
			r.hasRecord = true
			mark(r)
		}
	}
	return touch
}

// sweepAfter is how long a write may wait for its answer: ioTimeout, or,
// soon after a reconnect, as long as since the reconnect (at least a
// second): a write sent before the connection came back lost its answer with
// the old one, and is written again at once instead of after ioTimeout. A
// write the client buffered while it was cut off goes out at the reconnect
// and has that second to be answered; writing one twice stores the same.
func (r *run) sweepAfter(now time.Time) time.Duration {
	if n := r.reconnected.Load(); n != 0 {
		if since := now.Sub(time.Unix(0, n)); since >= time.Second && since < ioTimeout {
			return since
		}
	}
	return ioTimeout
}

// keepalive sends InProgress for running jobs well within the ack wait, and
// writes a running status record for jobs that run longer than a moment (fast
// jobs go straight from enqueued to their result). It also sweeps the
// writers' unanswered writes.
func (r *run) keepalive() {
	touchEvery := r.ackWait / 5
	markAfter := 500 * time.Millisecond
	t := time.NewTicker(min(markAfter, touchEvery))
	defer t.Stop()
	for {
		select {
		case <-r.bg.Done():
			return
		case now := <-t.C:
			sweep := r.sweepAfter(now)
			r.results.Sweep(sweep)
			r.writer.Sweep(sweep)
			// The running record is sent while the job is still registered,
			// so it always goes out before the job's final record.
			touch := r.inflight.due(now, now.Add(-touchEvery), now.Add(-markAfter), func(j *running) {
				st := r.jobs.statusOf(j.job, naq.StateRunning)
				st.StartedAt, st.Naks = j.started, int(j.naks)
				if err := r.jobs.publishStatus(st); err != nil {
					r.sh.Logger.Warn("status write failed", "job", j.job.ID, "err", err)
				}
			})
			for _, m := range touch {
				_ = m.InProgress()
			}
		}
	}
}

// find returns the running entry of job, nil once it has ended.
func (f *inflight) find(job *naq.Job) *running {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.jobs {
		if r.job == job {
			return r
		}
	}
	return nil
}

// recorded notes that r's running record was written (by a progress report),
// so the keepalive does not write one without the progress after it.
func (f *inflight) recorded(r *running) {
	f.mu.Lock()
	r.hasRecord = true
	f.mu.Unlock()
}
