package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

func listWorkers(t *testing.T, e *env) []naq.WorkerInfo {
	t.Helper()
	js, _ := jetstream.New(e.nc)
	kv, err := js.KeyValue(t.Context(), "naq_workers")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []naq.WorkerInfo
	for k := range keys.Keys() {
		en, err := kv.Get(t.Context(), k)
		if err != nil {
			continue
		}
		var wi naq.WorkerInfo
		if err := json.Unmarshal(en.Value(), &wi); err != nil {
			t.Fatal(err)
		}
		out = append(out, wi)
	}
	return out
}

func TestStatusManagerOnItsOwn(t *testing.T) {
	_, nc := testutil.Server(t)
	id := worker.NewIdentity("unit")
	sh, err := worker.NewShared(nc, worker.Config{Queues: []string{"a", "b"}, Concurrency: 7, HeartbeatInterval: 300 * time.Millisecond}, testutil.Logger(), id)
	if err != nil {
		t.Fatal(err)
	}
	running := []string{"job-1", "job-2"}
	m, err := worker.NewStatusManager(t.Context(), sh, func() worker.Activity {
		return worker.Activity{RunningJobs: running, Processed: 5, Failed: 1}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetState(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	e := &env{nc: nc}
	ws := listWorkers(t, e)
	if len(ws) != 1 {
		t.Fatalf("%d records", len(ws))
	}
	w := ws[0]
	if w.ID != id.ID || w.State != naq.WorkerBusy || w.Concurrency != 7 || len(w.Queues) != 2 || len(w.RunningJobs) != 2 ||
		w.Processed != 5 || w.Failed != 1 || w.PID != id.PID || w.Hostname == "" || w.LastHeartbeat.IsZero() {
		t.Fatalf("record %+v", w)
	}
	// Heartbeats keep it alive past its TTL (2 s floor); without them it expires.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	time.Sleep(2500 * time.Millisecond)
	if len(listWorkers(t, e)) != 1 {
		t.Fatal("record expired while heartbeating")
	}
	first := listWorkers(t, e)[0].LastHeartbeat
	if !first.After(w.LastHeartbeat) {
		t.Fatal("heartbeat did not refresh the record")
	}
	cancel()
	<-done
	testutil.Eventually(t, 30*time.Second, "record to expire", func() bool { return len(listWorkers(t, e)) == 0 })
}
