package worker

// Storing a job's final record: the writes sent, retried until stored, then
// the ack. Not here: deciding the outcome (settle.go).

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/records"
)

// finish stores the result (and, for a failure, the failed-job record and a
// terminal status) and acknowledges the job only once they are stored. The
// writes complete asynchronously, and a job that only waits for them to be
// confirmed holds no slot (its handler is done), so a server slow to answer (a
// replicated stream) does not idle the handlers. The writers' windows
// (4 × Concurrency writes each) bound how many wait: a full window blocks the
// handler goroutine in finish, which keeps its slot until the write is sent.
func (r *run) finish(d *delivery, res *naq.Result, writeStatus bool) {
	job, m, md := d.job, d.msg, d.md
	res.Error, res.Traceback = clip(res.Error), clip(res.Traceback)
	f := &d.fin
	*f = finishing{r: r, d: d, res: res, failed: res.Status == naq.StateFailed}
	if f.failed {
		rec := &naq.FailedJob{
			JobID: job.ID, Name: job.Name, Queue: job.Queue, Error: deref(res.Error), ErrorKind: res.ErrorKind,
			Traceback: deref(res.Traceback), Attempts: job.Attempt, MaxRetries: job.MaxRetries,
			EnqueuedAt: job.EnqueuedAt, FailedAt: res.FinishedAt, Job: m.Data(), Subject: m.Subject(),
			StreamSeq: md.Sequence.Stream,
		}
		if len(rec.Job) > r.jobs.maxValue {
			// The job fitted its queue's stream, but not beside its error.
			rec.Job = nil
			rec.Error += " (the job itself is too large to keep in this record)"
		}
		if fm, err := r.failed.msg(rec); err == nil {
			f.extra[f.n], f.n = fm, f.n+1
		}
	}
	if writeStatus {
		st := (*naq.JobStatus)(records.FromResult((*records.Result)(res)))
		st.MaxRetries = job.MaxRetries
		if sm, err := r.jobs.statusMsg(st); err == nil {
			f.extra[f.n], f.n = sm, f.n+1
		}
	}
	f.buf = r.jobs.resultMsgInto(&f.result, job, res)
	r.writes.Add(1)
	f.send(r.results)
}

// clip cuts an error text or traceback to maxErrorText.
func clip(s *string) *string {
	if s == nil || len(*s) <= maxErrorText {
		return s
	}
	c := (*s)[:maxErrorText] + "… (cut)"
	return &c
}

// finishing is one job's writes in flight.
type finishing struct {
	r      *run
	d      *delivery
	res    *naq.Result // the final record, for the log line and the event
	result nats.Msg    // the result's write, in the same allocation
	buf    *[]byte     // the result's encoding, back to its pool once stored
	extra  [2]*nats.Msg
	n      int32 // int32s and the bool side by side: the delivery stays in its size class
	failed bool

	mu      sync.Mutex
	left    int32
	retries int32 // failed rounds of writes so far
	err     error
}

// send writes the result through w and the other records through the plain
// writer; Written collects their answers (f itself is the callback: no
// closure per job).
func (f *finishing) send(w resultWriter) {
	f.mu.Lock()
	f.left, f.err = 1+f.n, nil
	f.mu.Unlock()
	r := f.r
	w.WriteTo(r.io, &f.result, f)
	for _, msg := range f.extra[:f.n] {
		r.writer.WriteTo(r.io, msg, f)
	}
}

// Written collects one write's outcome; the last one acknowledges the job
// once every write is stored, or has them written again.
func (f *finishing) Written(err error) {
	f.mu.Lock()
	f.left--
	if err != nil && f.err == nil {
		f.err = err
	}
	last, werr := f.left == 0, f.err
	f.mu.Unlock()
	if !last {
		return
	}
	if werr != nil {
		f.retry(werr)
		return
	}
	f.stored()
}

// retry writes the records again after a pause, for as long as the worker
// runs: the job has run, and running it again because the server was busy
// electing a leader is what this avoids. Meanwhile the delivery is kept
// alive, and the worker takes no new jobs (their writes would fail as well)
// until the writes go through.
func (f *finishing) retry(err error) {
	r := f.r
	if errors.Is(err, nats.ErrMaxPayload) {
		// Cannot succeed however often it is tried: the job runs again.
		r.sh.Logger.Error("a record of the job is over the server's max payload; the job will run again", "job", f.d.job.ID, "err", err)
		f.end(func() { _ = f.d.msg.NakWithDelay(time.Second) })
		return
	}
	if r.io.Err() != nil { // stopping: the job returns after the ack wait
		f.end(nil)
		return
	}
	f.retries++
	if f.retries == 1 {
		r.fetcher.Hold()
		r.inflight.add(f.d.md.Sequence.Stream, &running{job: f.d.job, msg: f.d.msg, started: time.Now(),
			touched: time.Now(), cancel: func(error) {}, hasRecord: true, naks: int32(f.d.naks)})
		r.sh.Logger.Warn("could not store the job's result; keeping it and writing again, and taking no new jobs meanwhile",
			"job", f.d.job.ID, "err", err)
	}
	// Soon and often: a write to a stream without a leader is answered at
	// once, and the leader comes back within seconds.
	delay := min(250*time.Millisecond<<min(f.retries-1, 2), time.Second)
	r.retrying.later(f, delay, func() {
		if r.io.Err() != nil {
			f.end(nil)
			return
		}
		f.send(r.writer)
	})
}

// retrySet holds the jobs waiting to write their records again, so a
// shutdown can end the waits.
type retrySet struct {
	mu     sync.Mutex
	timers map[*finishing]*time.Timer
}

// later runs again after delay, unless abandon comes first.
func (s *retrySet) later(f *finishing, delay time.Duration, again func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timers == nil {
		s.timers = map[*finishing]*time.Timer{}
	}
	s.timers[f] = time.AfterFunc(delay, func() {
		s.mu.Lock()
		_, ok := s.timers[f]
		delete(s.timers, f)
		s.mu.Unlock()
		if ok {
			again()
		}
	})
}

// abandon ends every wait: those jobs return after the ack wait.
func (s *retrySet) abandon() {
	s.mu.Lock()
	var gone []*finishing
	for f, t := range s.timers {
		if t.Stop() {
			gone = append(gone, f)
		}
		delete(s.timers, f)
	}
	s.mu.Unlock()
	for _, f := range gone {
		f.end(nil)
	}
}

// stored acknowledges the job once all its records are stored.
func (f *finishing) stored() {
	r, job := f.r, f.d.job
	f.end(func() {
		if err := f.d.msg.Ack(); err != nil {
			r.sh.Logger.Warn("ack failed; the job may run again", "job", job.ID, "err", err)
		}
		r.processed.Add(1)
		c := r.counters(job.Queue)
		if c != nil {
			c.processed.Add(1)
		}
		if f.failed {
			r.failedCount.Add(1)
			if c != nil {
				c.failed.Add(1)
			}
		}
		r.logFinal(job, f.res)
		if r.obs != nil {
			r.obs.final(job, f.res)
		}
	})
	if f.retries > 0 {
		r.sh.Logger.Info("the job's result is stored after all", "job", job.ID, "rounds", f.retries+1)
	}
}

// end finishes the job's writes: then runs (if any), the buffer goes back,
// and a held fetcher is released.
func (f *finishing) end(then func()) {
	r := f.r
	if then != nil {
		then()
	}
	if f.retries > 0 {
		r.inflight.remove(f.d.md.Sequence.Stream)
		r.fetcher.Release()
	}
	r.jobs.releaseBuf(f.buf)
	r.writes.Done()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
