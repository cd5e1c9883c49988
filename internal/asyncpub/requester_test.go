package asyncpub_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/asyncpub"
)

func TestPublishOutcomes(t *testing.T) {
	ctx, nc, s := streamS(t)
	q, err := asyncpub.NewRequester(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	withID := func(id string) *nats.Msg {
		return &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
	}
	// Stored, with a context that is never cancelled and with one that is.
	if err := q.Publish(context.Background(), withID("1")); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, withID("2")); err != nil {
		t.Fatal(err)
	}
	// A duplicate id is stored once and is not an error.
	if err := q.Publish(ctx, withID("1")); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctx); info.State.Msgs != 2 {
		t.Fatalf("%d messages stored, want 2", info.State.Msgs)
	}
	// The stream's refusal comes back as its API error.
	err = q.Publish(ctx, &nats.Msg{Subject: "s.a", Data: make([]byte, 200)})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamMessageExceedsMaximum {
		t.Fatalf("oversized message: got %v, want the stream's message-size error", err)
	}
	wrongSeq := &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{jetstream.ExpectedLastSeqHeader: []string{"99"}}}
	if err := q.Publish(ctx, wrongSeq); !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("wrong last sequence: got %v", err)
	}
	// No stream: retried, then the jetstream package's error.
	start := time.Now()
	err = q.Publish(ctx, &nats.Msg{Subject: "nowhere", Data: []byte("x")})
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("no stream: got %v", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("no stream: gave up after %s, want two retries 250 ms apart", d)
	}
	// A cancelled context stops the wait.
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if err := q.Publish(short, &nats.Msg{Subject: "nowhere", Data: []byte("x")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled while retrying: got %v", err)
	}
}

func TestAckErrorRejectsOtherAnswers(t *testing.T) {
	for _, data := range []string{``, `{}`, `hello`, `{"error":`} {
		if err := asyncpub.AckError(&nats.Msg{Data: []byte(data)}); err == nil {
			t.Errorf("%q read as a stored message", data)
		}
	}
	if err := asyncpub.AckError(&nats.Msg{Data: []byte(`{"stream":"S","seq":7}`)}); err != nil {
		t.Errorf("an acknowledgement read as %v", err)
	}
}

// Callers writing at once each get their own write's answer: every other
// write is refused, and each caller sees exactly its own outcome.
func TestRequesterHandsEachCallerItsOwnAnswer(t *testing.T) {
	ctx, nc, s := streamS(t)
	q, err := asyncpub.NewRequester(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				refused := (g+i)%2 == 1
				data := []byte("ok")
				if refused {
					data = make([]byte, 200) // over the stream's 100-byte limit
				}
				err := q.Publish(ctx, &nats.Msg{Subject: "s.a", Data: data})
				if refused != (err != nil) {
					t.Errorf("caller %d write %d: refused=%v, got %v", g, i, refused, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if info, _ := s.Info(ctx); info.State.Msgs != 16*100 {
		t.Fatalf("%d messages stored, want %d", info.State.Msgs, 16*100)
	}
}

func TestRequesterCloseFailsWaitingWrites(t *testing.T) {
	_, nc, _ := streamS(t)
	// A subscriber that never answers: the write waits.
	if _, err := nc.Subscribe("silent", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	q, err := asyncpub.NewRequester(nc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Publish(context.Background(), &nats.Msg{Subject: "silent"}) }()
	time.Sleep(100 * time.Millisecond)
	q.Close()
	select {
	case err := <-done:
		if !errors.Is(err, asyncpub.ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a waiting write outlived Close")
	}
	if err := q.Publish(context.Background(), &nats.Msg{Subject: "s.a"}); !errors.Is(err, asyncpub.ErrClosed) {
		t.Fatalf("write after Close: got %v, want ErrClosed", err)
	}
}
