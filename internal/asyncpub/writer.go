// Package asyncpub publishes to JetStream streams and reports each
// publish's outcome to a callback: one reply subscription and a map of pending
// writes, instead of a future, a timer and a decoded acknowledgement per
// message. naq's job path and bulk enqueue use it.
//
// BatchWriter is the same over the server's fast batches. orbit's
// jetstreamext.FastPublisher was measured against it on EnqueueMany's path
// (docs/benchmarks.md): as fast past a hundred jobs a call, about 0.7 of the
// rate for ten, since it waits for the first message's ack and for a commit;
// and it reports only the highest stored sequence, from one goroutine, where
// the worker needs each of many concurrent writes answered.
package asyncpub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrClosed fails writes still pending when the writer closes.
var ErrClosed = errors.New("naq: async publisher closed")

// Callback takes a write's outcome: nil once the stream stored it, or the
// error. An interface, so a caller's per-write state can answer without a
// closure allocated for each write.
type Callback interface{ Written(err error) }

// Func adapts a function to a Callback.
type Func func(err error)

// Written calls f.
func (f Func) Written(err error) { f(err) }

// Writer publishes messages and calls back with each one's outcome.
type Writer struct {
	nc     *nats.Conn
	prefix string
	sub    *nats.Subscription

	window chan struct{} // one token per write in flight

	mu      sync.Mutex
	next    uint64
	pending map[uint64]pendingWrite
	closed  bool
}

type pendingWrite struct {
	done Callback
	sent time.Time
}

// NewWriter subscribes to its reply subjects on nc. At most maxPending writes
// are in flight at once, so a burst never overruns the server's ingest queue.
func NewWriter(nc *nats.Conn, maxPending int) (*Writer, error) {
	w := &Writer{nc: nc, prefix: nc.NewInbox(), pending: map[uint64]pendingWrite{}, window: make(chan struct{}, maxPending)}
	sub, err := nc.Subscribe(w.prefix+".*", w.onReply)
	if err != nil {
		return nil, fmt.Errorf("async publisher: %w", err)
	}
	// Replies are tiny and must never be dropped as a slow consumer.
	_ = sub.SetPendingLimits(-1, -1)
	w.sub = sub
	return w, nil
}

// Write publishes msg (setting its reply subject) and calls done once with
// nil when the stream stored it, or with the error. The writer lets go of msg
// before it calls done: msg may be reused from then on, not before. done runs
// on the writer's reply goroutine: keep it short. Write waits while the window
// of writes in flight is full; ctx bounds that wait (its error goes to done).
func (w *Writer) Write(ctx context.Context, msg *nats.Msg, done func(error)) {
	w.WriteTo(ctx, msg, Func(done))
}

// WriteTo is Write answering to done.
func (w *Writer) WriteTo(ctx context.Context, msg *nats.Msg, done Callback) {
	if err := take(ctx, w.window); err != nil {
		done.Written(err)
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.window
		done.Written(ErrClosed)
		return
	}
	w.next++
	id := w.next
	w.pending[id] = pendingWrite{done: done, sent: time.Now()}
	w.mu.Unlock()
	// The reply is built in one allocation, and msg itself is sent: Write
	// owns it from here on.
	msg.Reply = replySubject(w.prefix, id)
	if err := w.nc.PublishMsg(msg); err != nil {
		if d, ok := w.take(id); ok {
			d.Written(err)
		}
	}
}

// take takes a token from a window of writes in flight, waiting while it is
// full; ctx bounds the wait. Room at once, the usual case, skips the select
// on ctx.
func take(ctx context.Context, window chan struct{}) error {
	select {
	case window <- struct{}{}:
		return nil
	default:
	}
	select {
	case window <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replySubject is <prefix>.<id>, built in one allocation: it is made for
// every write.
func replySubject(prefix string, id uint64) string {
	var num [20]byte
	var reply strings.Builder
	reply.Grow(len(prefix) + 1 + len(num))
	reply.WriteString(prefix)
	reply.WriteByte('.')
	reply.Write(strconv.AppendUint(num[:0], id, 10))
	return reply.String()
}

func (w *Writer) take(id uint64) (Callback, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pending[id]
	if ok {
		delete(w.pending, id)
		<-w.window
	}
	return p.done, ok
}

func (w *Writer) onReply(m *nats.Msg) {
	i := strings.LastIndexByte(m.Subject, '.')
	id, err := strconv.ParseUint(m.Subject[i+1:], 10, 64)
	if err != nil {
		return
	}
	if done, ok := w.take(id); ok {
		done.Written(AckError(m))
	}
}

// Sweep fails writes that got no answer within timeout.
func (w *Writer) Sweep(timeout time.Duration) {
	cutoff := time.Now().Add(-timeout)
	var late []Callback
	w.mu.Lock()
	for id, p := range w.pending {
		if p.sent.Before(cutoff) {
			late = append(late, p.done)
			delete(w.pending, id)
			<-w.window
		}
	}
	w.mu.Unlock()
	for _, d := range late {
		d.Written(errUnanswered(timeout))
	}
}

func errUnanswered(timeout time.Duration) error {
	return fmt.Errorf("write not acknowledged within %s", timeout)
}

// Pending is how many writes await their answer.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Close stops the writer; writes still pending fail.
func (w *Writer) Close() {
	w.mu.Lock()
	w.closed = true
	pending := w.pending
	w.pending = map[uint64]pendingWrite{}
	for range pending {
		<-w.window
	}
	w.mu.Unlock()
	_ = w.sub.Unsubscribe()
	for _, p := range pending {
		p.done.Written(ErrClosed)
	}
}
