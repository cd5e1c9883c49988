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
	"github.com/naqgo/naq/internal/testutil"
)

// streamS starts a server with stream S on s.> (messages up to 100 bytes).
func streamS(t *testing.T) (context.Context, *nats.Conn, jetstream.Stream) {
	t.Helper()
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	js, _ := jetstream.New(nc)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, MaxMsgSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, nc, s
}

func TestWriterReportsEachOutcome(t *testing.T) {
	ctx, nc, s := streamS(t)
	w, err := asyncpub.NewWriter(nc, 16) // a small window: writes wait for room
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range n {
		wg.Add(1)
		w.Write(ctx, &nats.Msg{Subject: "s.ok", Data: []byte("x")}, func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := s.Info(ctx); info.State.Msgs != n {
		t.Fatalf("%d stored, want %d", info.State.Msgs, n)
	}
	outcome := func(m *nats.Msg) error {
		ch := make(chan error, 1)
		w.Write(ctx, m, func(err error) { ch <- err })
		return <-ch
	}
	if err := outcome(&nats.Msg{Subject: "nowhere", Data: []byte("x")}); err == nil {
		t.Fatal("a write no stream takes succeeded")
	}
	if err := outcome(&nats.Msg{Subject: "s.big", Data: make([]byte, 1000)}); err == nil {
		t.Fatal("a write the stream rejects succeeded")
	}
	if w.Pending() != 0 {
		t.Fatalf("%d pending", w.Pending())
	}
	w.Close()
	if err := outcome(&nats.Msg{Subject: "s.ok", Data: []byte("x")}); !errors.Is(err, asyncpub.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
