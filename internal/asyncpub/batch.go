package asyncpub

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// Fast batch operations, the last token of a batched write's reply subject
// before the suffix (nats-server's fast batch publishing, ADR-50).
const (
	opStart     = "0"
	opAppend    = "1"
	opCommitEOB = "3"
	batchSuffix = ".$FI"
)

// BatchWriter writes to one stream through the server's fast batch publishing
// (nats-server 2.14 and later, stream option allow_batched): the server
// confirms every flow-th write at once instead of answering each, which spares
// the server and the client a reply per write. Writes that come while nothing
// else is in flight go out as plain writes, so a quiet writer waits for no
// batch; an open batch is committed once writes pause for its idle time.
//
// Nothing is lost on the way: a batched write the server refused or skipped
// (a batch ended early by an error, a server or stream that does not batch)
// is written again as a plain write, whose answer is final.
type BatchWriter struct {
	nc     *nats.Conn
	plain  *Writer
	prefix string
	sub    *nats.Subscription
	flow   string
	idle   time.Duration
	window chan struct{} // one token per batched write in flight

	mu         sync.Mutex
	open       *fastBatch            // the batch taking writes, or nil
	batches    map[string]*fastBatch // batches with writes unanswered
	plainOut   int                   // plain writes in flight
	timer      *time.Timer
	armed      bool
	wrote      bool      // a batched write since the timer last fired
	plainUntil time.Time // batches were refused: write plainly until then
	noBatching bool      // the server stored a batched write as a plain one
	closed     bool
}

type fastBatch struct {
	id      string
	subject string // the last write's subject, where the commit goes
	seq     uint64 // last sequence sent
	// writes holds the writes from sequence base on; a settled one has no
	// done. The server confirms writes in order, so the settled ones are cut
	// off the front and a long batch keeps only what is unanswered.
	writes []batchedWrite
	base   uint64
	live   int // unsettled writes
}

type batchedWrite struct {
	msg  *nats.Msg
	done Callback
	sent time.Time
}

// NewBatchWriter batches writes on nc; plain takes the writes that are not
// batched and is not closed by the batch writer. At most maxPending batched
// writes are in flight, and the server is asked to confirm them at least every
// flow writes.
func NewBatchWriter(nc *nats.Conn, plain *Writer, maxPending, flow int, idle time.Duration) (*BatchWriter, error) {
	w := &BatchWriter{
		nc: nc, plain: plain, prefix: nc.NewInbox(), flow: strconv.Itoa(min(max(flow, 1), 65535)),
		idle: idle, window: make(chan struct{}, maxPending), batches: map[string]*fastBatch{},
	}
	sub, err := nc.Subscribe(w.prefix+".>", w.onReply)
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(-1, -1)
	w.sub = sub
	return w, nil
}

// Write publishes msg, which the writer owns until it calls done, and calls
// done once with nil when the stream stored it, or with the error (a write
// the server skipped is sent again before that); done runs on a reply
// goroutine. ctx bounds the wait for room in the window.
func (w *BatchWriter) Write(ctx context.Context, msg *nats.Msg, done func(error)) {
	w.WriteTo(ctx, msg, Func(done))
}

// WriteTo is Write answering to done.
func (w *BatchWriter) WriteTo(ctx context.Context, msg *nats.Msg, done Callback) {
	if err := take(ctx, w.window); err != nil {
		done.Written(err)
		return
	}
	now := time.Now()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.window
		done.Written(ErrClosed)
		return
	}
	if w.open == nil && (len(w.batches) == 0 && w.plainOut == 0 || w.noBatching || now.Before(w.plainUntil)) {
		// Nothing else in flight: a batch would only wait for its commit.
		w.plainOut++
		w.mu.Unlock()
		<-w.window
		w.plain.WriteTo(ctx, msg, w.plainDone(done))
		return
	}
	b := w.open
	if b == nil {
		// Batch ids are per stream, shared by every writer: unique ones.
		b = &fastBatch{id: nuid.Next(), base: 1}
		w.open, w.batches[b.id] = b, b
	}
	b.seq++
	op := opAppend
	if b.seq == 1 {
		op = opStart
	}
	msg.Reply = w.reply(b, op)
	b.subject = msg.Subject
	b.writes = append(b.writes, batchedWrite{msg: msg, done: done, sent: now})
	b.live++
	w.wrote = true
	w.arm()
	// Published under the lock: the server ends a batch at a gap in its
	// sequence, so writes must reach it in order.
	err := w.nc.PublishMsg(msg)
	if err != nil {
		b.writes, b.live = b.writes[:len(b.writes)-1], b.live-1
		b.seq--
	}
	w.mu.Unlock()
	if err != nil {
		<-w.window
		done.Written(err)
	}
}

// reply is a batched write's reply subject:
// <prefix>.<batch>.<flow>.fail.<seq>.<op>.$FI. Lock held.
func (w *BatchWriter) reply(b *fastBatch, op string) string {
	var num [20]byte
	var s strings.Builder
	s.Grow(len(w.prefix) + len(b.id) + len(w.flow) + 40)
	s.WriteString(w.prefix)
	s.WriteByte('.')
	s.WriteString(b.id)
	s.WriteByte('.')
	s.WriteString(w.flow)
	s.WriteString(".fail.")
	s.Write(strconv.AppendUint(num[:0], b.seq, 10))
	s.WriteByte('.')
	s.WriteString(op)
	s.WriteString(batchSuffix)
	return s.String()
}

// arm starts the idle timer unless it runs. Lock held.
func (w *BatchWriter) arm() {
	if w.armed {
		return
	}
	w.armed = true
	if w.timer == nil {
		w.timer = time.AfterFunc(w.idle, w.onIdle)
		return
	}
	w.timer.Reset(w.idle)
}

// onIdle commits the open batch once a whole idle period passed without a
// write.
func (w *BatchWriter) onIdle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if w.wrote {
		w.wrote = false
		w.timer.Reset(w.idle)
		return
	}
	w.armed = false
	w.commit()
}

// Flush commits the open batch now, so its last writes are answered without
// waiting for the idle time.
func (w *BatchWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.commit()
}

// commit ends the open batch; the server answers once every write in it is
// stored. Lock held.
func (w *BatchWriter) commit() {
	b := w.open
	if b == nil || w.noBatching {
		return
	}
	w.open = nil
	b.seq++
	if err := w.nc.PublishMsg(&nats.Msg{Subject: b.subject, Reply: w.reply(b, opCommitEOB)}); err != nil {
		b.seq-- // unanswered writes fail when swept
	}
}

// Sweep fails batched writes that got no answer within timeout.
func (w *BatchWriter) Sweep(timeout time.Duration) {
	cutoff := time.Now().Add(-timeout)
	var late []Callback
	w.mu.Lock()
	for id, b := range w.batches {
		for i := range b.writes {
			if bw := b.writes[i]; bw.done != nil && bw.sent.Before(cutoff) {
				late = append(late, bw.done)
				b.settle(i)
			}
		}
		b.trim()
		if b.live == 0 && w.open != b {
			delete(w.batches, id)
		}
	}
	w.mu.Unlock()
	for range late {
		<-w.window
	}
	for _, done := range late {
		done.Written(errUnanswered(timeout))
	}
}

// Pending is how many batched writes await their answer.
func (w *BatchWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.batches {
		n += b.live
	}
	return n
}

// Close stops the writer; batched writes still pending fail. The plain
// writer stays open.
func (w *BatchWriter) Close() {
	w.mu.Lock()
	w.closed = true
	var pending []Callback
	for _, b := range w.batches {
		for _, bw := range b.unsettled() {
			pending = append(pending, bw.done)
		}
	}
	w.batches, w.open = map[string]*fastBatch{}, nil
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	_ = w.sub.Unsubscribe()
	for range pending {
		<-w.window
	}
	for _, done := range pending {
		done.Written(ErrClosed)
	}
}
