package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// evilArgs is what a hostile producer might put in a job: it must show on
// every page as text.
const evilArgs = `<script>document.title="pwned"</script><img src=x onerror=alert(1)>`

// Malformed messages the failed pages must show as inert text.
const (
	badText  = `{"function": "<script>alert('raw')</script>"`
	badBytes = "\xff\xfe<script>alert(2)</script>"
)

// fixture is a real server with a worker, jobs in every state, and the
// dashboard served over HTTP.
type fixture struct {
	nc      *nats.Conn
	client  *naq.Client
	srv     *httptest.Server
	h       *dashboard.Handler
	evilID  string // pending job with hostile arguments
	blockID string // running job, blocked until cancelled
	failed  []string
	sched   string
}

func newFixture(t *testing.T, opts ...dashboard.Option) *fixture {
	t.Helper()
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()), naq.WithPendingRecords(), naq.WithEvents())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{nc: nc, client: c}
	if err := c.EnsureEventsStream(ctx, time.Hour, 64<<20); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	w, err := worker.New(nc, worker.WithLogger(testutil.Logger()), worker.WithPollWait(200*time.Millisecond),
		worker.WithQueues("emails", "reports"), worker.WithConcurrency(4), worker.WithEvents(),
		worker.WithHeartbeatInterval(time.Second), worker.WithShutdownTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("send", func(ctx context.Context, j *naq.Job) (any, error) { return "sent", nil })
	w.HandleFunc("flaky", func(ctx context.Context, j *naq.Job) (any, error) {
		return nil, errors.New(`smtp said <b>no</b> & "bye"`)
	})
	w.HandleFunc("block", func(ctx context.Context, j *naq.Job) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	workertest.Run(t, w)

	for range 3 {
		j, err := c.Enqueue(ctx, "send", map[string]any{"to": "a@example.com"}, naq.Queue("emails"))
		if err != nil {
			t.Fatal(err)
		}
		f.wait(t, j.ID)
	}
	for range 3 {
		j, err := c.Enqueue(ctx, "flaky", []int{1, 2}, naq.Queue("emails"), naq.MaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		f.failed = append(f.failed, j.ID)
		f.wait(t, j.ID)
	}
	// Messages that are not jobs: one text, one not even UTF-8.
	for _, raw := range []string{badText, badBytes} {
		if err := nc.Publish("naq.queue.emails", []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	j, err := c.Enqueue(ctx, "block", nil, naq.Queue("reports"))
	if err != nil {
		t.Fatal(err)
	}
	f.blockID = j.ID
	<-started
	// A job running longer than a moment gets a running record, and the
	// next heartbeat lists it.
	testutil.Eventually(t, 10*time.Second, "the blocked job to show as running", func() bool {
		st, err := c.Status(ctx, f.blockID)
		if err != nil || st.State != naq.StateRunning {
			return false
		}
		ws, _ := c.ListWorkers(ctx)
		return len(ws) == 1 && len(ws[0].RunningJobs) == 1
	})
	// A queue no worker takes: its jobs stay pending.
	for range 3 {
		if _, err := c.Enqueue(ctx, "later", []int{7}, naq.Queue("backlog")); err != nil {
			t.Fatal(err)
		}
	}
	evil, err := c.Enqueue(ctx, "later", map[string]string{"html": evilArgs}, naq.Queue("backlog"))
	if err != nil {
		t.Fatal(err)
	}
	f.evilID = evil.ID
	s, err := c.Schedule(ctx, "send", nil, naq.Every(time.Hour), naq.ScheduleID("hourly-digest"), naq.WithJobOptions(naq.Queue("emails")))
	if err != nil {
		t.Fatal(err)
	}
	f.sched = s.ID
	testutil.Eventually(t, 10*time.Second, "failed records", func() bool {
		n, _ := c.FailedCounts(ctx)
		return n["emails"] == 5
	})

	opts = append([]dashboard.Option{dashboard.WithLogger(testutil.Logger()), dashboard.WithRefresh(time.Second, time.Second)}, opts...)
	f.h, err = dashboard.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.h.Close()
	})
	return f
}

func (f *fixture) wait(t *testing.T, id string) *naq.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := f.client.Wait(ctx, id)
	if r == nil {
		t.Fatalf("wait for %s: %v", id, err)
	}
	return r
}

func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp)
}
