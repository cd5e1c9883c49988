package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/scheduler"
)

// workerHint says why a job of queue may wait: no consumer, a paused one, or
// no worker listening. "" when a worker serves the queue, or when it cannot
// tell (the question is best effort: it never fails a command).
func (a *app) workerHint(ctx context.Context, c *naq.Client, queue string) string {
	if queue == "" {
		return ""
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	info, err := c.JetStream().Consumer(ctx, layout.JobsStream, layout.ConsumerName(queue))
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return fmt.Sprintf("no worker has ever run on queue %s (start one: naq worker %s --target URL, or a Go worker)", queue, queue)
	case err != nil:
		return ""
	}
	ci := info.CachedInfo()
	if ci.Paused {
		return fmt.Sprintf("queue %s is paused (naq queue resume %s)", queue, queue)
	}
	if ci.NumWaiting > 0 || ci.NumAckPending > 0 {
		return "" // a worker is asking for jobs, or running some
	}
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		return ""
	}
	for _, w := range workers {
		if !w.Stale && slices.Contains(w.Queues, queue) {
			return ""
		}
	}
	return fmt.Sprintf("no worker is listening on queue %s (see 'naq workers')", queue)
}

// warnNoWorker tells the user, before a wait, that nothing will run the job.
func (a *app) warnNoWorker(ctx context.Context, c *naq.Client, queue string) {
	if hint := a.workerHint(ctx, c, queue); hint != "" {
		fmt.Fprintf(a.stderr, "naq: note: %s; waiting anyway\n", hint)
	}
}

// warnNoScheduler tells the user that no scheduler holds the leader lock, so
// no schedule fires until one runs. Best effort, like workerHint.
func (a *app) warnNoScheduler(ctx context.Context, c *naq.Client) {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	kv, err := c.JetStream().KeyValue(ctx, layout.SchedulerLockBucket)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return
	}
	if err == nil {
		if li, err := scheduler.Leader(ctx, kv); err != nil || li != nil {
			return
		}
	}
	fmt.Fprintln(a.stderr, "naq: note: no scheduler is running, so no schedule fires until one does: start 'naq scheduler' (or a Go scheduler)")
}
