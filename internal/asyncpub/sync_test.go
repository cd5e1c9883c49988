package asyncpub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/asyncpub"
)

func TestPublishOutcomes(t *testing.T) {
	ctx, nc, s := streamS(t)
	withID := func(id string) *nats.Msg {
		return &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
	}
	// Stored, with a context that is never cancelled and with one that is.
	if err := asyncpub.Publish(context.Background(), nc, withID("1")); err != nil {
		t.Fatal(err)
	}
	if err := asyncpub.Publish(ctx, nc, withID("2")); err != nil {
		t.Fatal(err)
	}
	// A duplicate id is stored once and is not an error.
	if err := asyncpub.Publish(ctx, nc, withID("1")); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctx); info.State.Msgs != 2 {
		t.Fatalf("%d messages stored, want 2", info.State.Msgs)
	}
	// The stream's refusal comes back as its API error.
	err := asyncpub.Publish(ctx, nc, &nats.Msg{Subject: "s.a", Data: make([]byte, 200)})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamMessageExceedsMaximum {
		t.Fatalf("oversized message: got %v, want the stream's message-size error", err)
	}
	wrongSeq := &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{jetstream.ExpectedLastSeqHeader: []string{"99"}}}
	if err := asyncpub.Publish(ctx, nc, wrongSeq); !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("wrong last sequence: got %v", err)
	}
	// No stream: retried, then the jetstream package's error.
	start := time.Now()
	err = asyncpub.Publish(ctx, nc, &nats.Msg{Subject: "nowhere", Data: []byte("x")})
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("no stream: got %v", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("no stream: gave up after %s, want two retries 250 ms apart", d)
	}
	// A cancelled context stops the wait.
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if err := asyncpub.Publish(short, nc, &nats.Msg{Subject: "nowhere", Data: []byte("x")}); !errors.Is(err, context.DeadlineExceeded) {
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
