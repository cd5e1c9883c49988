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
)

// batchWriter returns a batch writer on stream S, which takes batches when
// batched is set, and a counter of the server's answers to batched writes.
func batchWriter(t *testing.T, batched bool) (context.Context, *asyncpub.BatchWriter, jetstream.Stream, *atomic.Int64) {
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
	plain, err := asyncpub.NewWriter(nc, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	w, err := asyncpub.NewBatchWriter(nc, plain, 256, 32, 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return ctx, w, s, &answers
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

func TestBatchWriterAnswersALoneWriteAtOnce(t *testing.T) {
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
	ctx, w, _, _ := batchWriter(t, true)
	var closed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(100)
	for i := range 100 {
		w.Write(ctx, &nats.Msg{Subject: "s.x", Data: []byte(strconv.Itoa(i))}, func(err error) {
			if errors.Is(err, asyncpub.ErrClosed) {
				closed.Add(1)
			}
			wg.Done()
		})
	}
	w.Close()
	wg.Wait() // every write answered once, stored or closed
	w.Write(ctx, &nats.Msg{Subject: "s.x"}, func(err error) {
		if !errors.Is(err, asyncpub.ErrClosed) {
			t.Errorf("write after close: %v", err)
		}
	})
}
