package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/scheduler"
	"github.com/naqgo/naq/worker"
)

// Every naq-go entry point works on a server where Python naq made the
// layout first, and leaves every setting Python relies on as it was: the
// buckets' max ages, descriptions, duplicate windows and flags, the
// consumer's ack wait, and Python's scheduler lock, which naq-go never
// touches.
func TestEntryPointsOnPythonLayout(t *testing.T) {
	for _, v := range []struct {
		name   string
		msgTTL bool
	}{{"nats-py 2.13", true}, {"nats-py 2.11", false}} {
		t.Run(v.name, func(t *testing.T) {
			py := testutil.PyLayout{MsgTTL: v.msgTTL, Queues: []string{"naq_default_queue", "py"}, Concurrency: 10}
			srv, nc := testutil.Server(t, embedded.WithListen("127.0.0.1", -1))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			js, _ := jetstream.New(nc)
			if err := py.Create(ctx, js); err != nil {
				t.Fatal(err)
			}
			// Python's leader holds its lock: a pickled record naq-go must
			// neither read as its own nor renew.
			lockKV, err := js.KeyValue(ctx, layout.PythonSchedulerLock)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lockKV.Put(ctx, "leader_lock", []byte("\x80\x05\x95python-leader\x94.")); err != nil {
				t.Fatal(err)
			}
			// And the records a Python deployment holds: a worker's pickled
			// heartbeat, a pickled schedule, a failed job and its status.
			seed := func(bucket, key string, data []byte) uint64 {
				kv, err := js.KeyValue(ctx, bucket)
				if err != nil {
					t.Fatal(err)
				}
				rev, err := kv.Put(ctx, key, data)
				if err != nil {
					t.Fatal(err)
				}
				return rev
			}
			seed("naq_workers", "naq-worker-pyhost-4242-a1b2c3", pythonRecord(t, "worker-idle-p4.pickle"))
			pySchedule := seed("naq_scheduled_jobs", "5d41402abc4b2a76b9719d911017c592", pythonRecord(t, "schedule-p4.pickle"))
			seed("naq_job_status", "00000000000000000000000000000b01", []byte("failed"))
			if _, err := js.Publish(ctx, "naq.failed.py", pythonRecord(t, "failed.json")); err != nil {
				t.Fatal(err)
			}
			before, err := py.Snapshot(ctx, js)
			if err != nil {
				t.Fatal(err)
			}
			e := &opsEnv{url: srv.ClientURL(), env: []string{"NAQ_NATS_URL=" + srv.ClientURL()}, nc: nc}

			// The CLI first, as a user meeting a Python deployment would.
			id := strings.TrimSpace(e.ok(t, "enqueue", "tasks:add", "--args", "[1]"))
			e.ok(t, "workers")
			e.ok(t, "failed", "list")
			e.ok(t, "queue", "list")
			e.ok(t, "queue", "stats")
			e.ok(t, "schedule", "list")
			e.ok(t, "schedule", "add", "tasks:tick", "--every", "1h", "--id", "go-tick")
			e.ok(t, "schedule", "list")

			// The library: client, a worker that runs the job, a scheduler
			// that leads next to Python's.
			c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			e.client = c
			_, stopWorker := e.startWorker(t, func(w *worker.Worker) {
				w.HandleFunc("tasks:add", func(ctx context.Context, j *naq.Job) (any, error) { return "done", nil })
			})
			res, err := c.Wait(ctx, id)
			if err != nil || res.Status != naq.StateCompleted {
				t.Fatalf("job on a Python layout: %+v, %v", res, err)
			}
			stopWorker()
			e.ok(t, "job", "status", id)
			e.ok(t, "job", "result", id)
			e.ok(t, "job", "wait", id)
			e.ok(t, "failed", "show", "1")
			e.ok(t, "schedule", "show", "go-tick")
			e.ok(t, "schedule", "pause", "go-tick")
			e.ok(t, "schedule", "resume", "go-tick")
			e.ok(t, "schedule", "delayed")
			e.ok(t, "version")
			runScheduler(t, ctx, nc)

			// The processes: the HTTP-target worker and the scheduler.
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = w.Write([]byte(`"posted"`))
			}))
			defer target.Close()
			startHTTPWorker(t, e.url, "py", "--target", target.URL)
			job, err := c.Enqueue(ctx, "tasks:post", nil, naq.Queue("py"))
			if err != nil {
				t.Fatal(err)
			}
			if res := awaitJobResult(t, c, job.ID); res.Status != naq.StateCompleted {
				t.Fatalf("HTTP-target job on a Python layout: %+v", res)
			}
			runSchedulerProcess(t, e)

			if out := e.ok(t, "workers"); !strings.Contains(out, "pyhost") {
				t.Errorf("naq workers does not list the Python worker:\n%s", out)
			}
			if out := e.ok(t, "failed", "list"); !strings.Contains(out, "count_words") {
				t.Errorf("naq failed list does not list the Python failed job:\n%s", out)
			}
			py.CheckKept(t, ctx, js, before)
			schedKV, _ := js.KeyValue(ctx, "naq_scheduled_jobs")
			if e, err := schedKV.Get(ctx, "5d41402abc4b2a76b9719d911017c592"); err != nil || e.Revision() != pySchedule {
				t.Errorf("Python's schedule was touched: %v, %v", e, err)
			}
			if e, err := lockKV.Get(ctx, "leader_lock"); err != nil || e.Revision() != 1 {
				t.Errorf("Python's leader lock was touched: %v, %v", e, err)
			}
		})
	}
}

// runScheduler runs a library scheduler until it leads, then stops it.
func runScheduler(t *testing.T, ctx context.Context, nc *nats.Conn) {
	t.Helper()
	s, err := scheduler.New(nc, scheduler.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !s.Leading() {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("scheduler stopped before leading: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("scheduler did not lead within 30s")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("scheduler: %v", err)
	}
}

// runSchedulerProcess runs `naq scheduler` until it leads, then stops it
// with SIGTERM and checks that it exits 0.
func runSchedulerProcess(t *testing.T, e *opsEnv) {
	t.Helper()
	cmd := exec.Command(naqBin, "scheduler", "--url", e.url)
	cmd.Env = naqEnv(nil)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), "leading") {
		select {
		case err := <-done:
			t.Fatalf("naq scheduler exited (%v); stderr:\n%s", err, stderr)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("naq scheduler did not lead within 30s; stderr:\n%s", stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("naq scheduler exited with %v; stderr:\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("naq scheduler did not stop on SIGTERM; stderr:\n%s", stderr)
	}
}
