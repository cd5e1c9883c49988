package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestEventsTailShowsAFailureThenTheCompletion(t *testing.T) {
	e := newOpsEnv(t)
	producer, err := naq.NewClient(t.Context(), e.nc, naq.WithLogger(testutil.Logger()), naq.WithEvents())
	if err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("flaky", func(ctx context.Context, job *naq.Job) (any, error) {
			if job.Attempt == 1 {
				return nil, errors.New("first attempt fails")
			}
			return "ok", nil
		})
	}, worker.WithEvents())
	const id = "tail0123456789"

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, naqBin, "events", "tail", "--json", "--job", id, "--count", "6")
	cmd.Env = naqEnv(e.env)
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	opsWaitFor(t, 30*time.Second, "tail to subscribe", func() bool {
		s := errOut.String()
		if strings.Contains(s, "naq:") {
			t.Fatalf("tail failed: %s", s)
		}
		return strings.Contains(s, "following events")
	})

	if _, err := producer.Enqueue(t.Context(), "flaky", nil, naq.JobID(id), naq.MaxRetries(2), naq.RetryDelay(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tail: %v\n%s", err, errOut.String())
	}
	var types []string
	var events []naq.Event
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var ev naq.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types = append(types, string(ev.Type))
		events = append(events, ev)
	}
	want := "enqueued started failed retry_scheduled started completed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if events[2].Error != "first attempt fails" || events[5].Attempt != 2 {
		t.Errorf("events %+v", events)
	}
}

func TestEventsHistoryNeedsPersistence(t *testing.T) {
	e := newOpsEnv(t)
	if errOut := e.exits(t, 1, "events", "history", "abc"); !strings.Contains(errOut, "naq events persist") {
		t.Errorf("stderr %q", errOut)
	}
	e.ok(t, "events", "persist", "--max-age", "1h")
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("ok", func(ctx context.Context, job *naq.Job) (any, error) { return 1, nil })
	}, worker.WithEvents())
	j, err := e.client.Enqueue(t.Context(), "ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []naq.Event
	opsWaitFor(t, 30*time.Second, "the stored events", func() bool {
		evs = nil
		e.json(t, &evs, "events", "history", j.ID)
		return len(evs) == 2
	})
	if evs[0].Type != naq.EventStarted || evs[1].Type != naq.EventCompleted {
		t.Errorf("history %+v", evs)
	}
	if out := e.ok(t, "events", "history", j.ID); !strings.Contains(out, "completed") || !strings.Contains(out, j.ID) {
		t.Errorf("history table %q", out)
	}
}

func TestServerAndWorkerMetrics(t *testing.T) {
	serverAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	url := startServer(t, "--metrics", serverAddr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := dialTest(t, ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, "x", nil, naq.Queue("nobody")); err != nil {
		t.Fatal(err)
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`"done"`))
	}))
	defer target.Close()
	workerAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startHTTPWorker(t, url, "--target", target.URL, "--metrics-addr", workerAddr, "-q", "web")
	j, err := c.Enqueue(ctx, "tasks:anything", nil, naq.Queue("web"))
	if err != nil {
		t.Fatal(err)
	}
	if res := awaitJobResult(t, c, j.ID); res.Status != naq.StateCompleted {
		t.Fatalf("result %+v", res)
	}
	opsWaitFor(t, 30*time.Second, "the worker's counter", func() bool {
		return strings.Contains(httpGet(t, "http://"+workerAddr+"/metrics"),
			`naq_worker_jobs_processed_total{function="other",outcome="completed",queue="web"} 1`)
	})
	opsWaitFor(t, 30*time.Second, "the server's queue gauge", func() bool {
		return strings.Contains(httpGet(t, "http://"+serverAddr+"/metrics"), `naq_queue_pending_jobs{queue="nobody"} 1`)
	})
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestWorkerSaysWhenItsTargetCannotBeReached(t *testing.T) {
	e := newOpsEnv(t)
	target := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/jobs"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, naqBin, "worker", "--target", target)
	cmd.Env = naqEnv(e.env)
	var errOut lockedBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	opsWaitFor(t, 30*time.Second, "the worker to start", func() bool { return strings.Contains(errOut.String(), "worker started") })
	if out := errOut.String(); !strings.Contains(out, "the HTTP target cannot be reached") || !strings.Contains(out, "level=WARN") {
		t.Errorf("stderr:\n%s", out)
	}
}
