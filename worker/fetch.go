package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fetchLoop pulls jobs of one queue, never more than there are free slots.
// With a backlog it takes every free slot in one no-wait pull; when the queue
// is empty it long-polls for a single job, holding one slot.
func (r *run) fetchLoop(queue string, c jetstream.Consumer) {
	log := r.sh.Logger.With("queue", queue)
	backlog := false
	for {
		want := 1
		if backlog {
			// Jobs are waiting: gather a quarter of the slots (briefly) so one
			// pull serves many jobs.
			want = max(1, r.sh.Config.Concurrency/4)
		}
		n, ok := r.acquire(want)
		if !ok {
			return
		}
		got, err := r.fetch(c, n, true)
		backlog = err == nil && got == n
		if err == nil && got == 0 {
			r.release(n - 1)
			n = 1
			got, err = r.fetch(c, 1, false)
		}
		r.release(n - got)
		if err != nil && r.fetchCtx.Err() == nil {
			log.Warn("fetch failed; retrying", "err", err)
			select {
			case <-r.fetchCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// acquire waits for one free slot, then takes every other free one; when want
// is more than one it waits up to a millisecond for that many.
func (r *run) acquire(want int) (int, bool) {
	select {
	case <-r.fetchCtx.Done():
		return 0, false
	case <-r.slots:
	}
	n := 1
	var deadline <-chan time.Time
	for {
		select {
		case <-r.slots:
			n++
			continue
		default:
		}
		if n >= want {
			return n, true
		}
		if deadline == nil {
			t := time.NewTimer(time.Millisecond)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-r.slots:
			n++
		case <-deadline:
			return n, true
		case <-r.fetchCtx.Done():
			r.release(n)
			return 0, false
		}
	}
}

func (r *run) release(n int) {
	for range n {
		r.slots <- struct{}{}
	}
}

// fetch pulls up to n jobs and starts a handler for each; it returns how many
// it started. Jobs that arrive after fetching stopped go straight back.
func (r *run) fetch(c jetstream.Consumer, n int, noWait bool) (int, error) {
	var batch jetstream.MessageBatch
	var err error
	if noWait {
		batch, err = c.FetchNoWait(n)
	} else {
		ctx, cancel := context.WithTimeout(r.fetchCtx, r.sh.Config.PollWait)
		defer cancel()
		batch, err = c.Fetch(n, jetstream.FetchContext(ctx))
	}
	if err != nil {
		return 0, err
	}
	got := 0
	for m := range batch.Messages() {
		if r.fetchCtx.Err() != nil {
			_ = m.Nak()
			continue
		}
		got++
		r.work <- m // a slot was reserved for it, so a pool goroutine is free
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, jetstream.ErrNoMessages) {
		return got, fmt.Errorf("fetch: %w", err)
	}
	return got, nil
}
