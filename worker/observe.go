package worker

// What a worker tells about the jobs it runs besides their records: log
// lines that say why, lifecycle events, metrics, per-queue counters for the
// heartbeat. Events and metrics are off unless asked for (observer is then
// nil and the job path pays one nil check per step); logs and counters are
// always on and cost an atomic add or a disabled log level's check.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/jobctx"
	"github.com/naqgo/naq/internal/layout"
)

// queueCounters are one queue's counters in the worker's heartbeat.
type queueCounters struct {
	processed, failed, retried atomic.Int64
}

// counters returns the counters of queue q (nil for a queue the worker does
// not consume, which only a job with a foreign queue field can name). A
// worker has few queues: a scan beats a map.
func (r *run) counters(q string) *queueCounters {
	for i, name := range r.sh.Config.Queues {
		if name == q {
			return &r.perQueue[i]
		}
	}
	return nil
}

// queueStats reads the per-queue counters for the heartbeat; running jobs
// are counted from the running set.
func (r *run) queueStats() map[string]naq.QueueCounters {
	out := make(map[string]naq.QueueCounters, len(r.sh.Config.Queues))
	for i, q := range r.sh.Config.Queues {
		c := &r.perQueue[i]
		out[q] = naq.QueueCounters{Processed: c.processed.Load(), Failed: c.failed.Load(), Retried: c.retried.Load()}
	}
	for _, q := range r.inflight.queues() {
		c := out[q]
		c.InFlight++
		out[q] = c
	}
	return out
}

// observer publishes events and updates metrics; nil when both are off.
type observer struct {
	nc       *nats.Conn
	workerID string
	events   bool
	metrics  *Metrics
	series   *seriesCache    // metrics' per-job series, when metrics are on
	known    map[string]bool // registered handler names: the function label's values
	queues   map[string]bool // the worker's queues: the queue label's values
	log      *slog.Logger
}

// newObserver returns nil when neither events nor metrics are on.
func (w *Worker) newObserver(sh *Shared) *observer {
	if !w.opts.events && w.opts.metrics == nil {
		return nil
	}
	queues := map[string]bool{}
	for _, q := range sh.Config.Queues {
		queues[q] = true
	}
	ob := &observer{nc: sh.Conn, workerID: sh.Identity.ID, events: w.opts.events, metrics: w.opts.metrics,
		known: w.mux.names(), queues: queues, log: sh.Logger}
	if ob.metrics != nil {
		ob.series = &seriesCache{m: ob.metrics}
	}
	return ob
}

// function is the metrics label of a job name: registered names as they are,
// any other as "other", so a producer cannot grow the label set.
func (ob *observer) function(name string) string {
	if ob.known[name] {
		return name
	}
	return "other"
}

// queue is the metrics label of a queue: one of the worker's, or "other"
// for a job whose queue field names another.
func (ob *observer) queue(q string) string {
	if ob.queues[q] {
		return q
	}
	return "other"
}

// emit publishes e when events are on and counts it when metrics are.
func (ob *observer) emit(e *naq.Event) {
	if ob.metrics != nil {
		q, f := ob.queue(e.Queue), ob.function(e.Function)
		if e.Type == naq.EventCompleted {
			ob.series.completed(q, f).Inc()
		} else {
			ob.metrics.count(e, q, f)
		}
	}
	if !ob.events {
		return
	}
	e.WorkerID = ob.workerID
	if err := naq.PublishEvent(ob.nc, e); err != nil {
		ob.log.Debug("could not publish an event", "job", e.JobID, "type", e.Type, "err", err)
	}
}

// job is an event of job's. A value, not a pointer: events are built,
// published and dropped on the job's path, and on the stack they cost no
// allocation.
func (ob *observer) job(t naq.EventType, job *naq.Job, err error) naq.Event {
	e := naq.Event{Type: t, JobID: job.ID, Queue: job.Queue, Function: job.Name, Attempt: job.Attempt, MaxRetries: job.MaxRetries}
	if err != nil {
		// Cut as in records: an event over the server's max payload is lost.
		text := err.Error()
		e.ErrorKind, e.Error = ErrorKind(err), *clip(&text)
	}
	return e
}

// started and ran bracket a handler's run.
func (ob *observer) started(job *naq.Job) {
	if ob.metrics != nil {
		ob.series.inFlight(ob.queue(job.Queue)).Inc()
	}
	e := ob.job(naq.EventStarted, job, nil)
	ob.emit(&e)
}

func (ob *observer) ran(job *naq.Job, d time.Duration) {
	if ob.metrics != nil {
		q := ob.queue(job.Queue)
		ob.series.inFlight(q).Dec()
		ob.series.duration(q, ob.function(job.Name)).Observe(d.Seconds())
	}
}

// later reports a put-back: a retry (err set), a snooze or a shutdown;
// ran is how long the attempt ran (0 for a job that did not run).
func (ob *observer) later(t naq.EventType, job *naq.Job, delay time.Duration, err error, msg string, ran time.Duration) {
	if t == naq.EventRetryScheduled {
		f := ob.job(naq.EventFailed, job, err)
		f.Message, f.DurationMS = "retrying", ms(ran)
		ob.emit(&f)
	}
	e := ob.job(t, job, err)
	e.DelayMS, e.Message = ms(delay), msg
	ob.emit(&e)
}

// final reports a job's stored final record.
func (ob *observer) final(job *naq.Job, res *naq.Result) {
	var dur float64
	if !res.StartedAt.IsZero() {
		dur = ms(res.FinishedAt.Sub(res.StartedAt))
	}
	e := ob.job(naq.EventCompleted, job, nil)
	e.Attempt, e.DurationMS = res.Attempts, dur
	switch res.Status {
	case naq.StateCompleted:
		ob.emit(&e)
		return
	case naq.StateCancelled:
		e.Type = naq.EventCancelled
	default:
		e.Type = naq.EventFailed
	}
	e.ErrorKind, e.Error = res.ErrorKind, deref(res.Error)
	ob.emit(&e)
	if e.Type == naq.EventFailed {
		dl := e
		dl.Type, dl.Message = naq.EventDeadLettered, "recorded in naq_failed_jobs"
		ob.emit(&dl)
	}
}

func (ob *observer) worker(t naq.EventType, queues []string) {
	ob.emit(&naq.Event{Type: t, JobID: "worker:" + ob.workerID, Queues: queues})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// logFinal logs a job's stored final record: a failure at warn with its
// error, kind and attempts; a cancellation at info; a completion at debug.
func (r *run) logFinal(job *naq.Job, res *naq.Result) {
	log := r.sh.Logger
	switch res.Status {
	case naq.StateCompleted:
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("job completed", "job", job.ID, "name", job.Name, "queue", job.Queue, "attempt", job.Attempt,
				"duration", res.FinishedAt.Sub(res.StartedAt), "args", argsText(job), "result", cut(string(res.Value)))
		}
	case naq.StateCancelled:
		log.Info("job cancelled", "job", job.ID, "name", job.Name, "queue", job.Queue, "err", deref(res.Error))
	default:
		next := "failed for good; recorded in naq_failed_jobs"
		if res.ErrorKind == KindPoison {
			next = "failed as poison; recorded in naq_failed_jobs"
		}
		log.Warn("job "+next, "job", job.ID, "name", job.Name, "queue", job.Queue,
			"attempt", fmt.Sprintf("%d of %d", res.Attempts, job.MaxRetries+1),
			"kind", res.ErrorKind, "err", deref(res.Error))
	}
}

// logLater logs a put-back at info: a retry with its error, a snooze, a
// shutdown's put-back.
func (r *run) logLater(job *naq.Job, delay time.Duration, err error, why string) {
	log := r.sh.Logger
	if err == nil {
		log.Info(why, "job", job.ID, "name", job.Name, "queue", job.Queue, "back_in", delay)
		return
	}
	log.Info("job failed; retrying", "job", job.ID, "name", job.Name, "queue", job.Queue,
		"attempt", fmt.Sprintf("%d of %d", job.Attempt, job.MaxRetries+1), "kind", ErrorKind(err), "err", err.Error(),
		"retry_in", delay)
}

// maxLoggedArgs bounds arguments and results in debug lines: they may be
// large, and they may hold personal data, so they are never logged above
// debug.
const maxLoggedArgs = 256

func argsText(job *naq.Job) string {
	var b strings.Builder
	for i, a := range job.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(a)
		if b.Len() > maxLoggedArgs {
			break
		}
	}
	for k, v := range job.Kwargs {
		if b.Len() > maxLoggedArgs {
			break
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return cut(b.String())
}

func cut(s string) string {
	if len(s) <= maxLoggedArgs {
		return s
	}
	return s[:maxLoggedArgs] + "…"
}

// queueOf is the queue a job subject names ("" for another subject).
func queueOf(subject string) string {
	q, ok := strings.CutPrefix(subject, layout.JobsSubjectPrefix)
	if !ok {
		return ""
	}
	return q
}

// MessageHeader returns the headers of the message that brought the job a
// handler runs (nil unless the worker has WithMessageHeaders, or for a job
// sent without headers). Middleware reads trace context from it.
func MessageHeader(ctx context.Context) nats.Header {
	h, _ := jobctx.Header(ctx).(nats.Header)
	return h
}
