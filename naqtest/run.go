package naqtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/records"
)

// RunQueued runs the jobs waiting in the worker's queues, and the jobs those
// jobs enqueue in turn, until no job is left in those queues without a result,
// and returns the results of the jobs that finished meanwhile, in the order
// they were enqueued. A failed job is a result too (its Status is
// naq.StateFailed), not an error. Delayed and recurring jobs are run only if
// they come due meanwhile; jobs on queues the worker does not consume stay
// where they are. A message that is not a naq job has no result: RunQueued
// waits until the worker has moved it to the failed-jobs stream.
//
// If the worker is not running, RunQueued runs it for the call and stops it
// before returning, so every record of the jobs it ran is stored by then.
// ctx bounds the whole run, retries and their delays included: the test fails
// if it ends first.
func (e *Env) RunQueued(ctx context.Context) []*naq.Result {
	e.t.Helper()
	js := e.Client.JetStream()
	kv, err := js.KeyValue(ctx, layout.ResultsBucket)
	if err != nil {
		e.t.Fatalf("naqtest: RunQueued: %v", err)
	}
	// Watching from before the worker starts catches every job that finishes
	// during the run, also one enqueued and finished between two looks at
	// the queues. The results there already come first; the empty entry
	// marks their end.
	watch, err := kv.WatchAll(ctx)
	if err != nil {
		e.t.Fatalf("naqtest: RunQueued: watch results: %v", err)
	}
	defer func() { _ = watch.Stop() }()
	results := map[string]*naq.Result{}
	var seen uint64 // the newest revision of the bucket the watch has delivered
	live := false
	for !live {
		select {
		case <-ctx.Done():
			e.t.Fatalf("naqtest: RunQueued: %v", ctx.Err())
		case u := <-watch.Updates():
			if u == nil {
				live = true
			} else {
				seen = max(seen, u.Revision())
			}
		}
	}
	if e.startWorker() {
		defer e.stopWorker()
	}
	queues := e.Worker.Config().Queues
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		jobs, others, err := queued(ctx, e.Client, queues)
		if err != nil {
			e.t.Fatalf("naqtest: RunQueued: %v", err)
		}
		// A job whose result is stored stays in its queue until the worker's
		// acknowledgement removes it, a moment later.
		jobs = slices.DeleteFunc(jobs, func(j *naq.Job) bool { return results[j.ID] != nil })
		// Messages that are not jobs leave once the worker has moved them
		// to the failed-jobs stream.
		if len(jobs) == 0 && others == 0 {
			// The queues are empty, and a job leaves them only after its
			// result is stored: once the watch has delivered every result
			// written so far, none is missing.
			last, err := lastRevision(ctx, js)
			if err != nil {
				e.t.Fatalf("naqtest: RunQueued: %v", err)
			}
			if seen >= last {
				return sortedResults(results)
			}
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("naqtest: RunQueued: %v; jobs without a result: %s; messages that are not jobs: %d",
				ctx.Err(), describe(jobs), others)
		case u, ok := <-watch.Updates():
			if !ok {
				e.t.Fatal("naqtest: RunQueued: the results watch ended")
			}
			if u == nil {
				continue
			}
			seen = max(seen, u.Revision())
			if u.Operation() != jetstream.KeyValuePut {
				continue
			}
			r, err := records.DecodeResult(u.Key(), u.Value())
			if err != nil {
				e.t.Fatalf("naqtest: RunQueued: %v", err)
			}
			r.JobID = u.Key()
			results[r.JobID] = (*naq.Result)(r)
		case <-tick.C:
		}
	}
}

// lastRevision is the sequence of the newest entry in the results bucket.
func lastRevision(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, layout.ResultsStream)
	if err != nil {
		return 0, fmt.Errorf("results bucket: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("results bucket: %w", err)
	}
	return info.State.LastSeq, nil
}

func sortedResults(m map[string]*naq.Result) []*naq.Result {
	out := make([]*naq.Result, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *naq.Result) int {
		if c := a.EnqueuedAt.Compare(b.EnqueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.JobID, b.JobID)
	})
	return out
}

// describe lists jobs for a failure message: id, name and queue.
func describe(jobs []*naq.Job) string {
	var b strings.Builder
	for i, j := range jobs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q on %s", j.ID, j.Name, j.Queue)
	}
	return b.String()
}
