package asyncpub

// The server's answers to a BatchWriter's writes, and what each one settles.

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server error codes that refuse batching itself, not the message.
const (
	errBatchDisabled    = 10205
	errBatchUnknown     = 10208
	errBatchTooManyOpen = 10211
)

func batchGone(code jetstream.ErrorCode) bool {
	return code == errBatchDisabled || code == errBatchUnknown || code == errBatchTooManyOpen
}

// refusedFor is how long a writer whose batches were refused writes plainly.
const refusedFor = 5 * time.Second

// batchAnswer is any answer the server sends to a batched write's reply
// subject: a flow acknowledgement, a gap or error report, or a plain
// publish acknowledgement (a commit's carries the batch and its count).
type batchAnswer struct {
	Type  string              `json:"type"`
	Seq   uint64              `json:"seq"`
	Batch string              `json:"batch"`
	Count uint64              `json:"count"`
	Error *jetstream.APIError `json:"error"`
}

func (w *BatchWriter) onReply(m *nats.Msg) {
	id, seq, ok := w.parseReply(m.Subject)
	if !ok {
		return
	}
	var a batchAnswer
	status := m.Header.Get("Status")
	if status == "" && json.Unmarshal(m.Data, &a) != nil {
		return
	}
	var stored []Callback
	var again []batchedWrite
	w.mu.Lock()
	b := w.batches[id]
	if b == nil {
		w.mu.Unlock()
		return
	}
	switch {
	case status == "" && a.Type == "ack": // stored up to a.Seq
		stored = b.take(stored, 1, a.Seq)
	case status == "" && (a.Type == "gap" || a.Type == "err"):
		// The batch ends here; the commit's answer follows and says what
		// was stored.
		w.end(b)
	case status == "" && a.Error == nil && a.Batch != "": // the commit's answer
		w.end(b)
		stored = b.take(stored, 1, a.Count)
		again = append(again, b.unsettled()...) // skipped after an error: write again
	case status == "" && a.Error == nil:
		// A server that does not batch stored it as a plain write. It would
		// store a commit too: no more batches.
		w.noBatching = true
		w.end(b)
		stored = b.take(stored, seq, seq)
	case a.Error != nil && batchGone(a.Error.ErrorCode):
		// The server holds no such batch (never started, forgotten, or
		// batching turned off). Writes it has not confirmed may or may not
		// be stored: all are written again plainly, which answers them now
		// rather than when swept. A write may so be stored twice; naq's
		// writes are idempotent (a result is put by key, a job carries its
		// id).
		again = append(again, b.unsettled()...)
		w.end(b)
		if a.Error.ErrorCode != errBatchUnknown {
			w.plainUntil = time.Now().Add(refusedFor)
		}
	default:
		// This write alone was refused: it is written again plainly, and
		// its answer decides. The gap it leaves ends the batch: committing
		// now makes the server say at once what it stored before it.
		if i, ok := b.index(seq); ok {
			again = append(again, b.writes[i])
			b.settle(i)
			b.trim()
		} else if status != "" && w.open != b && seq == b.seq {
			// The commit (the batch's last number) reached no stream (no
			// responders: it went away), so nothing will say what the
			// batch stored: its unconfirmed writes are written again
			// plainly now, not when swept.
			again = append(again, b.unsettled()...)
		}
		if w.open == b {
			w.commit()
		}
	}
	if b.live == 0 && w.open != b {
		delete(w.batches, id)
	}
	w.plainOut += len(again)
	w.mu.Unlock()
	for range len(stored) + len(again) {
		<-w.window
	}
	for _, done := range stored {
		done.Written(nil)
	}
	for _, bw := range again {
		w.plain.WriteTo(context.Background(), bw.msg, w.plainDone(bw.done))
	}
}

func (w *BatchWriter) plainDone(done Callback) Callback {
	return Func(func(err error) {
		w.mu.Lock()
		w.plainOut--
		w.mu.Unlock()
		done.Written(err)
	})
}

// end stops writes going to b, which the server no longer takes. Lock held.
func (w *BatchWriter) end(b *fastBatch) {
	if w.open == b {
		w.open = nil
	}
}

// take settles b's writes numbered from..to, adding their callbacks to dst.
func (b *fastBatch) take(dst []Callback, from, to uint64) []Callback {
	for s := max(from, b.base); s <= to; s++ {
		i, ok := b.index(s)
		if !ok {
			break // past the last write
		}
		if b.writes[i].done != nil {
			dst = append(dst, b.writes[i].done)
			b.settle(i)
		}
	}
	b.trim()
	return dst
}

// index is the position in writes of write seq, if it is held.
func (b *fastBatch) index(seq uint64) (int, bool) {
	if seq < b.base || seq-b.base >= uint64(len(b.writes)) {
		return 0, false
	}
	return int(seq - b.base), true
}

// settle marks writes[i] answered, letting go of its message.
func (b *fastBatch) settle(i int) {
	b.writes[i] = batchedWrite{}
	b.live--
}

// trim cuts the settled writes off the front.
func (b *fastBatch) trim() {
	n := 0
	for n < len(b.writes) && b.writes[n].done == nil {
		n++
	}
	b.writes, b.base = b.writes[n:], b.base+uint64(n)
}

// unsettled settles every write still unanswered and returns them.
func (b *fastBatch) unsettled() []batchedWrite {
	var out []batchedWrite
	for i := range b.writes {
		if b.writes[i].done != nil {
			out = append(out, b.writes[i])
			b.settle(i)
		}
	}
	b.trim()
	return out
}

// parseReply reads the batch id and sequence from a reply subject.
func (w *BatchWriter) parseReply(subj string) (id string, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(subj, w.prefix+".")
	if !found {
		return "", 0, false
	}
	rest, found = strings.CutSuffix(rest, batchSuffix)
	if !found {
		return "", 0, false
	}
	parts := strings.Split(rest, ".") // id, flow, gap mode, seq, op
	if len(parts) != 5 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(parts[3], 10, 64)
	return parts[0], seq, err == nil
}
