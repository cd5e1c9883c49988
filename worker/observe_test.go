package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// syncBuffer is a log destination the worker's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flakyOnce fails a job's first attempt, then returns "ok".
func flakyOnce(ctx context.Context, job *naq.Job) (any, error) {
	if job.Attempt == 1 {
		return nil, errors.New("upstream said 503")
	}
	return "ok", nil
}

func TestFailureLogsSayWhy(t *testing.T) {
	e := newEnv(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("disk", func(ctx context.Context, job *naq.Job) (any, error) {
			return nil, errors.New("disk full on /var/spool")
		})
	}, worker.WithLogger(log))
	j, err := e.client.Enqueue(t.Context(), "disk", naq.Args{"secret-argument"}, naq.MaxRetries(1), naq.RetryDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, j.ID); res.Status != naq.StateFailed {
		t.Fatalf("status %s", res.Status)
	}
	testutil.Eventually(t, 30*time.Second, "the final log line", func() bool { return strings.Contains(logs.String(), "failed for good") })
	var retry, final string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "job failed; retrying"):
			retry = line
		case strings.Contains(line, "failed for good"):
			final = line
		}
	}
	for name, line := range map[string]string{"retry": retry, "final": final} {
		if !strings.Contains(line, "disk full on /var/spool") || !strings.Contains(line, j.ID) {
			t.Errorf("%s line lacks the error text or job id: %q", name, line)
		}
	}
	if !strings.Contains(retry, `attempt="1 of 2"`) || !strings.Contains(retry, "retry_in=") {
		t.Errorf("retry line: %q", retry)
	}
	if !strings.Contains(final, "level=WARN") || !strings.Contains(final, `attempt="2 of 2"`) {
		t.Errorf("final line: %q", final)
	}
	if strings.Contains(logs.String(), "secret-argument") {
		t.Error("job arguments logged at info")
	}
}

func TestEventsOfAJobThatFailsOnceThenCompletes(t *testing.T) {
	e := newEnv(t)
	producer, err := naq.NewClient(t.Context(), e.nc, naq.WithEvents())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.EnsureEventsStream(t.Context(), time.Hour, 1<<20); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, func(w *worker.Worker) { w.HandleFunc("flaky", flakyOnce) }, worker.WithEvents())

	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var live []naq.Event
	followed := make(chan error, 1)
	go func() {
		followed <- e.client.FollowEvents(ctx, naq.EventFilter{Queue: naq.DefaultQueue}, func(ev naq.Event) {
			mu.Lock()
			live = append(live, ev)
			mu.Unlock()
		})
	}()
	time.Sleep(100 * time.Millisecond) // FollowEvents flushes its subscription; give it the chance
	j, err := producer.Enqueue(t.Context(), "flaky", nil, naq.MaxRetries(1), naq.RetryDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, j.ID)
	want := []naq.EventType{naq.EventEnqueued, naq.EventStarted, naq.EventFailed, naq.EventRetryScheduled,
		naq.EventStarted, naq.EventCompleted}
	jobEvents := func() []naq.Event {
		mu.Lock()
		defer mu.Unlock()
		var out []naq.Event
		for _, ev := range live {
			if ev.JobID == j.ID {
				out = append(out, ev)
			}
		}
		return out
	}
	testutil.Eventually(t, 30*time.Second, "the completed event", func() bool { return len(jobEvents()) >= len(want) })
	cancel()
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	got := jobEvents()
	checkSequence(t, "live", got, want)
	if got[2].Error != "upstream said 503" || got[2].Attempt != 1 || got[5].Attempt != 2 || got[3].DelayMS <= 0 {
		t.Errorf("event fields: %+v", got)
	}
	if got[1].WorkerID == "" || got[0].WorkerID != "" || got[0].Function != "flaky" {
		t.Errorf("worker ids: %+v", got)
	}

	var history []naq.Event
	testutil.Eventually(t, 30*time.Second, "the stored events", func() bool {
		history, err = e.client.EventHistory(t.Context(), j.ID)
		return err == nil && len(history) == len(want)
	})
	checkSequence(t, "history", history, want)
}

func checkSequence(t *testing.T, what string, got []naq.Event, want []naq.EventType) {
	t.Helper()
	types := make([]naq.EventType, len(got))
	for i, ev := range got {
		types[i] = ev.Type
	}
	if len(types) != len(want) {
		t.Fatalf("%s: events %v, want %v", what, types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("%s: events %v, want %v", what, types, want)
		}
	}
}

func TestEventHistoryWithoutTheStream(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.EventHistory(t.Context(), "abc"); !errors.Is(err, naq.ErrEventsNotStored) {
		t.Fatalf("err %v", err)
	}
}

func TestMetricsOverHTTP(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("ok", func(ctx context.Context, job *naq.Job) (any, error) { return 1, nil })
		w.HandleFunc("flaky", flakyOnce)
		w.HandleFunc("bad", func(ctx context.Context, job *naq.Job) (any, error) { return nil, errors.New("no") })
	}, worker.WithMetrics(reg), worker.WithHeartbeatInterval(50*time.Millisecond))

	var ids []string
	enqueue := func(name string, opts ...naq.EnqueueOption) {
		opts = append(opts, naq.RetryDelay(10*time.Millisecond))
		j, err := e.client.Enqueue(t.Context(), name, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for range 3 {
		enqueue("ok")
	}
	enqueue("flaky", naq.MaxRetries(1))
	enqueue("bad", naq.MaxRetries(1))
	enqueue("tasks:unregistered")
	for _, id := range ids {
		e.wait(t, id)
	}
	q := naq.DefaultQueue
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"naq_worker_jobs_processed_total", []string{"function=ok", "outcome=completed"}, 3},
		{"naq_worker_jobs_processed_total", []string{"function=flaky", "outcome=completed"}, 1},
		{"naq_worker_jobs_processed_total", []string{"function=bad", "outcome=failed"}, 1},
		{"naq_worker_jobs_processed_total", []string{"function=other", "outcome=failed"}, 1},
		{"naq_worker_job_retries_total", []string{"function=flaky"}, 1},
		{"naq_worker_job_retries_total", []string{"function=bad"}, 1},
		{"naq_worker_job_duration_seconds_count", []string{"function=ok"}, 3},
		{"naq_worker_job_duration_seconds_count", []string{"function=flaky"}, 2},
		{"naq_worker_job_duration_seconds_count", []string{"function=bad"}, 2},
		{"naq_worker_jobs_in_flight", nil, 0},
	}
	// The final counters move once the writes are confirmed, a moment after
	// the results can be read.
	var body string
	testutil.Eventually(t, 30*time.Second, "the counters", func() bool {
		body = scrape(t, srv.URL)
		v, ok := metricValue(body, "naq_worker_jobs_processed_total", "function=other", "outcome=failed")
		return ok && v == 1
	})
	for _, c := range checks {
		got, ok := metricValue(body, c.name, append(c.labels, "queue="+q)...)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}

	var stats naq.QueueCounters
	testutil.Eventually(t, 30*time.Second, "the heartbeat's counters", func() bool {
		ws, err := e.client.ListWorkers(t.Context())
		if err != nil || len(ws) != 1 {
			return false
		}
		stats = ws[0].QueueStats[q]
		return stats.Processed == 6
	})
	if stats.Failed != 2 || stats.Retried != 2 || stats.InFlight != 0 {
		t.Errorf("queue stats %+v", stats)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue finds the sample of name whose labels include each k=v given.
func metricValue(body, name string, labels ...string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		match := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if !strings.Contains(rest, k+`="`+v+`"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		return f, err == nil
	}
	return 0, false
}
