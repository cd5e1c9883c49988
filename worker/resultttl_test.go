package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A result kept for the default time relies on the bucket's max age and
// carries no TTL of its own; a job's own result TTL goes with its result, and
// the server removes the result when it runs out.
func TestResultTTL(t *testing.T) {
	e := newEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("tasks:noop", func(context.Context, *naq.Job) (any, error) { return "ok", nil })
	})
	ctx := t.Context()
	plain, err := e.client.Enqueue(ctx, "tasks:noop", nil)
	if err != nil {
		t.Fatal(err)
	}
	short, err := e.client.Enqueue(ctx, "tasks:noop", nil, naq.ResultTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, plain.ID)
	e.wait(t, short.ID)

	js, _ := jetstream.New(e.nc)
	results, err := js.Stream(ctx, "KV_naq_results")
	if err != nil {
		t.Fatal(err)
	}
	ttlOf := func(id string) string {
		m, err := results.GetLastMsgForSubject(ctx, "$KV.naq_results."+id)
		if err != nil {
			t.Fatalf("result of %s: %v", id, err)
		}
		return m.Header.Get(jetstream.MsgTTLHeader)
	}
	if ttl := ttlOf(plain.ID); ttl != "" {
		t.Errorf("default result written with TTL %q, want none (the bucket's max age)", ttl)
	}
	if ttl := ttlOf(short.ID); ttl != "1s" {
		t.Errorf("result TTL %q, want 1s", ttl)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := e.client.Result(ctx, short.ID)
		if errors.Is(err, naq.ErrJobNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("result with a 1 s TTL still there after 15 s (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := e.client.Result(ctx, plain.ID); err != nil {
		t.Fatalf("default result gone: %v", err)
	}
}
