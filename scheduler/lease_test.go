package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
)

// A holder whose renewal was stored but answered too late (so it stepped
// down with a stale revision) takes its own lease back at once; nobody takes
// a lease whose record is another holder's.
func TestLeaseReclaim(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	kv, err := layout.EnsureSchedulerLockBucket(ctx, js, layout.Config{Logger: testutil.Logger()}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a := &lease{kv: kv, id: "a", ttl: time.Minute}
	b := &lease{kv: kv, id: "b", ttl: time.Minute}
	if won, err := a.acquire(ctx); !won || err != nil {
		t.Fatalf("a: %v %v", won, err)
	}
	if won, err := b.acquire(ctx); won || err != nil {
		t.Fatalf("b took a held lease: %v %v", won, err)
	}

	// a's renewal reaches the server, its answer never reaches a.
	late := a.value(time.Now().UTC())
	a.ours = append(a.ours, late)
	if _, err := kv.Update(ctx, leaderKey, late, a.rev); err != nil {
		t.Fatal(err)
	}
	if err := a.renew(ctx, time.Now().UTC()); err == nil {
		t.Fatal("a renewed with a stale revision")
	}
	if won, err := b.acquire(ctx); won || err != nil {
		t.Fatalf("b took a's lease: %v %v", won, err)
	}
	if won, err := a.acquire(ctx); !won || err != nil {
		t.Fatalf("a did not take its own lease back: %v %v", won, err)
	}
	if err := a.renew(ctx, time.Now().UTC()); err != nil {
		t.Fatalf("a cannot renew the lease it took back: %v", err)
	}
	if li, err := Leader(ctx, kv); err != nil || li.InstanceID != "a" {
		t.Fatalf("leader %+v, %v", li, err)
	}

	// Released, the lease goes to whoever campaigns; a has no claim left.
	if err := a.release(ctx); err != nil {
		t.Fatal(err)
	}
	if won, err := b.acquire(ctx); !won || err != nil {
		t.Fatalf("b: %v %v", won, err)
	}
	if won, err := a.acquire(ctx); won || err != nil {
		t.Fatalf("a took b's lease: %v %v", won, err)
	}
}
