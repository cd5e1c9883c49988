package asyncpub_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/asyncpub"
	"github.com/naqgo/naq/internal/testutil"
)

// batchWriter returns a batch writer on stream S, which takes batches when
// batched is set, and a counter of the server's answers to batched writes.
func batchWriter(t *testing.T, batched bool) (context.Context, *asyncpub.BatchWriter, jetstream.Stream, *atomic.Int64) {
	ctx, w, s, answers, _ := batchWriterJS(t, batched)
	return ctx, w, s, answers
}

func batchWriterJS(t *testing.T, batched bool) (context.Context, *asyncpub.BatchWriter, jetstream.Stream, *atomic.Int64, jetstream.JetStream) {
	t.Helper()
	ctx, nc, s := streamS(t)
	if batched {
		js, _ := jetstream.New(nc)
		cfg := s.CachedInfo().Config
		cfg.AllowBatchPublish = true
		var err error
		if s, err = js.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	var answers atomic.Int64
	sub, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		if strings.HasSuffix(m.Subject, ".$FI") {
			answers.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	js, _ := jetstream.New(nc)
	return ctx, newBatchWriter(t, nc, 2*time.Millisecond), s, &answers, js
}

// newBatchWriter returns a batch writer on nc that ends a batch once writes
// pause for idle, closed when the test ends.
func newBatchWriter(t *testing.T, nc *nats.Conn, idle time.Duration) *asyncpub.BatchWriter {
	t.Helper()
	plain, err := asyncpub.NewWriter(nc, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	w, err := asyncpub.NewBatchWriter(nc, plain, 256, 32, idle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// writeAll writes n messages from 8 goroutines, the one numbered bad (if any)
// too large for the stream, and returns each write's outcome.
func writeAll(ctx context.Context, t *testing.T, w *asyncpub.BatchWriter, n, bad int) []error {
	t.Helper()
	errs := make([]error, n)
	var answered sync.WaitGroup
	answered.Add(n)
	var writers sync.WaitGroup
	for g := range 8 {
		writers.Go(func() {
			for i := g; i < n; i += 8 {
				data := []byte("job " + strconv.Itoa(i))
				if i == bad {
					data = make([]byte, 200)
				}
				w.Write(ctx, &nats.Msg{Subject: "s." + strconv.Itoa(i), Data: data}, func(err error) {
					errs[i] = err
					answered.Done()
				})
			}
		})
	}
	writers.Wait()
	waited := make(chan struct{})
	go func() { answered.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatalf("writes unanswered: %d pending", w.Pending())
	}
	return errs
}

func streamCount(ctx context.Context, t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestBatchWriterStoresEveryWriteWithFewAnswers(t *testing.T) {
	ctx, w, s, answers := batchWriter(t, true)
	const n = 5000
	for i, err := range writeAll(ctx, t, w, n, -1) {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := streamCount(ctx, t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
	// Plain writes get one answer each; batches one per flow (32) writes
	// plus each batch's first and last.
	if a := answers.Load(); a > n/4 {
		t.Fatalf("%d answers to %d batched writes: not batched", a, n)
	}
}

func TestBatchWriterReportsARefusedWriteAndStoresTheRest(t *testing.T) {
	ctx, w, s, _ := batchWriter(t, true)
	const n, bad = 3000, 1234
	errs := writeAll(ctx, t, w, n, bad)
	for i, err := range errs {
		if i != bad && err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var apiErr *jetstream.APIError
	if !errors.As(errs[bad], &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamMessageExceedsMaximum {
		t.Fatalf("oversized write: got %v, want the stream's refusal", errs[bad])
	}
	if got := streamCount(ctx, t, s); got != n-1 {
		t.Fatalf("stream holds %d messages, want %d", got, n-1)
	}
}

func TestBatchWriterFallsBackWhenTheStreamRefusesBatches(t *testing.T) {
	ctx, w, s, _ := batchWriter(t, false)
	const n = 2000
	for i, err := range writeAll(ctx, t, w, n, -1) {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := streamCount(ctx, t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}

func TestBatchWriterStoresLoneWrites(t *testing.T) {
	ctx, w, s, _ := batchWriter(t, true)
	for i := range 20 {
		done := make(chan error, 1)
		w.Write(ctx, &nats.Msg{Subject: "s.one", Data: []byte(strconv.Itoa(i))}, func(err error) { done <- err })
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a lone write was not answered")
		}
	}
	if got := streamCount(ctx, t, s); got != 20 {
		t.Fatalf("stream holds %d messages, want 20", got)
	}
	if p := w.Pending(); p != 0 {
		t.Fatalf("%d writes still pending", p)
	}
}

func TestBatchWriterFailsPendingWritesOnClose(t *testing.T) {
	ctx, w, s, _ := batchWriter(t, true)
	var stored, other atomic.Int64
	var wg sync.WaitGroup
	wg.Add(100)
	for i := range 100 {
		w.Write(ctx, &nats.Msg{Subject: "s.x", Data: []byte(strconv.Itoa(i))}, func(err error) {
			switch {
			case err == nil:
				stored.Add(1)
			case !errors.Is(err, asyncpub.ErrClosed):
				other.Add(1)
			}
			wg.Done()
		})
	}
	w.Close()
	wg.Wait() // every write answered once: stored, or failed as closed
	if other.Load() != 0 {
		t.Fatalf("%d writes failed with another error than ErrClosed", other.Load())
	}
	// A write reported stored is stored (one failed as closed may be too).
	if got := streamCount(ctx, t, s); got < uint64(stored.Load()) {
		t.Fatalf("stream holds %d messages, %d reported stored", got, stored.Load())
	}
	w.Write(ctx, &nats.Msg{Subject: "s.x"}, func(err error) {
		if !errors.Is(err, asyncpub.ErrClosed) {
			t.Errorf("write after close: %v", err)
		}
	})
}

// Batching turned off while writes flow: the server forgets its batches, and
// every write is still stored (once, by its id) and answered, without waiting
// for a sweep.
func TestBatchWriterSurvivesBatchesTurnedOffMidway(t *testing.T) {
	ctx, w, s, _, js := batchWriterJS(t, true)
	const n = 4000
	var answered sync.WaitGroup
	answered.Add(n)
	var failed atomic.Int64
	for i := range n {
		if i == n/2 {
			cfg := s.CachedInfo().Config
			cfg.AllowBatchPublish = false
			if _, err := js.UpdateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
		}
		// With ids, as naq's jobs: a write the server may have stored
		// before it forgot the batch is written again and deduplicated.
		msg := &nats.Msg{Subject: "s." + strconv.Itoa(i), Data: []byte("x"),
			Header: nats.Header{jetstream.MsgIDHeader: []string{strconv.Itoa(i)}}}
		w.Write(ctx, msg, func(err error) {
			if err != nil {
				failed.Add(1)
			}
			answered.Done()
		})
	}
	waited := make(chan struct{})
	go func() { answered.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatalf("writes unanswered: %d pending", w.Pending())
	}
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d writes failed", f)
	}
	if got := streamCount(ctx, t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}

// A refused write that ends a burst: the writes before it are answered at
// once, not when swept.
func TestBatchWriterAnswersABurstEndingInARefusal(t *testing.T) {
	ctx, w, s, _ := batchWriter(t, true)
	const n = 100
	var answered sync.WaitGroup
	answered.Add(n + 1)
	var stored atomic.Int64
	var refused error
	for i := range n {
		w.Write(ctx, &nats.Msg{Subject: "s." + strconv.Itoa(i), Data: []byte("x")}, func(err error) {
			if err == nil {
				stored.Add(1)
			}
			answered.Done()
		})
	}
	w.Write(ctx, &nats.Msg{Subject: "s.big", Data: make([]byte, 200)}, func(err error) {
		refused = err
		answered.Done()
	})
	waited := make(chan struct{})
	go func() { answered.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatalf("writes unanswered: %d pending", w.Pending())
	}
	if stored.Load() != n || refused == nil {
		t.Fatalf("%d of %d stored, oversized write: %v", stored.Load(), n, refused)
	}
	if got := streamCount(ctx, t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}

// A batch whose stream went away before its end: the commit reaches no stream
// (the server answers "no responders"), so nothing will say what the batch
// stored. Its unconfirmed write is written again plainly and answered at
// once, not left waiting for the sweep.
func TestBatchWriterAnswersABatchWhoseCommitFoundNoStream(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	// A subscriber stands in for the stream and never answers, so the writes
	// stay in flight; it leaves before the batch ends.
	sink, err := nc.SubscribeSync("gone.>")
	if err != nil {
		t.Fatal(err)
	}
	w := newBatchWriter(t, nc, 300*time.Millisecond)
	w.Write(ctx, &nats.Msg{Subject: "gone.a", Data: []byte("a")}, func(error) {}) // plain: nothing else in flight
	answered := make(chan error, 1)
	w.Write(ctx, &nats.Msg{Subject: "gone.b", Data: []byte("b")}, func(err error) { answered <- err }) // opens a batch
	for range 2 {
		if _, err := sink.NextMsg(5 * time.Second); err != nil {
			t.Fatalf("the writes did not reach the subscriber: %v", err)
		}
	}
	if err := sink.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Fatal("a write with no stream to store it reported stored")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the batched write got no answer within 5 s of its batch's end")
	}
}
