package scheduler_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
)

// A schedule whose enqueues keep failing turns to failed after its limit.
func TestScheduleFailsAfterRepeatedEnqueueFailures(t *testing.T) {
	e := newEnv(t)
	e.start(t, "solo", 2*time.Second, nil)
	time.Sleep(300 * time.Millisecond) // the scheduler has provisioned the stream
	// Make every enqueue fail: the stream now refuses messages as large as a
	// job.
	js, _ := jetstream.New(e.nc)
	s, err := js.Stream(t.Context(), "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = 64
	if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	sch, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.MaxFailures(2),
		naq.WithJobOptions(naq.Queue("full")))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "the schedule to fail", func() bool {
		got, err := e.client.GetSchedule(t.Context(), sch.ID)
		return err == nil && got.State == naq.ScheduleFailed
	})
	got, _ := e.client.GetSchedule(t.Context(), sch.ID)
	if got.FailureCount != 2 || got.LastError == "" {
		t.Fatalf("%+v", got)
	}
	t.Logf("failed after %d failures: %s", got.FailureCount, got.LastError)
}

// The ticks of a recurring schedule that pass while the server is down run
// after the restart, each once: the outage is within the catch-up window.
func TestRecurringScheduleAfterServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := embedded.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := srv.Connect()
	client, err := naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.WithJobOptions(naq.Queue("restart")))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()
	time.Sleep(3500 * time.Millisecond) // three ticks pass with the server down

	srv, err = embedded.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	nc, _ = srv.Connect()
	client, err = naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, nc: nc, client: client}
	t.Cleanup(func() { nc.Close(); srv.Shutdown() })
	restarted := time.Now()
	in := e.start(t, "after-restart", 2*time.Second, nil)
	testutil.Eventually(t, 10*time.Second, "the catch-up run", func() bool {
		got, err := client.GetSchedule(t.Context(), sch.ID)
		return err == nil && got.NextRun.After(restarted)
	})
	in.stop()
	ms := tickTimes(t, occurrences(t, e, "restart"))
	t.Logf("%d runs, ticks %v ms after the first", len(ms), offsets(ms, sch.NextRun.UnixMilli()))
	if len(ms) < 3 || ms[0] != sch.NextRun.UnixMilli() {
		t.Fatalf("runs at %v, want every tick from the first due one (%d)", ms, sch.NextRun.UnixMilli())
	}
	consecutive(t, "after the restart", ms)
	if got, _ := client.GetSchedule(t.Context(), sch.ID); !got.NextRun.After(restarted) {
		t.Fatalf("next run %s is not after the restart", got.NextRun)
	}
}
