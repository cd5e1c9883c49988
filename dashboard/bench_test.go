package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
)

func benchSize(env string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkPages times each page of the dashboard on a server holding
// 1,000,000 pending jobs on one queue and 100,000 failed-job records
// (NAQ_DASHBOARD_BENCH_PENDING and NAQ_DASHBOARD_BENCH_FAILED change the
// counts). One op is one page served, end to end through the handler.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./dashboard
func BenchmarkPages(b *testing.B) {
	pending := benchSize("NAQ_DASHBOARD_BENCH_PENDING", 1_000_000)
	failed := benchSize("NAQ_DASHBOARD_BENCH_FAILED", 100_000)
	_, nc := testutil.Server(b)
	ctx := context.Background()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const batch = 5000
	for done := 0; done < pending; done += batch {
		jobs := make([]*naq.Job, 0, batch)
		for i := range min(batch, pending-done) {
			jobs = append(jobs, &naq.Job{ID: fmt.Sprintf("bulk-%08d", done+i), Name: "report", Queue: "bulk", Args: []json.RawMessage{json.RawMessage(strconv.Itoa(done + i))}})
		}
		if err := c.EnqueueMany(ctx, jobs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d pending jobs enqueued in %s", pending, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := fillFailed(ctx, c, failed); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d failed records written in %s", failed, time.Since(start).Round(time.Millisecond))
	// A consumer, as a worker would make it, so the queue page pages from
	// its delivered sequence.
	if _, err := c.PauseQueue(ctx, "bulk", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	page, err := c.QueueJobs(ctx, "bulk", uint64(pending/2), 1)
	if err != nil || len(page.Jobs) != 1 {
		b.Fatalf("middle job: %v", err)
	}
	midSeq, midID := page.Jobs[0].Seq, page.Jobs[0].Job.ID
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"queue", "/queues/bulk"},
		{"queue_middle", fmt.Sprintf("/queues/bulk?tab=all&from=%d", midSeq)},
		{"job_by_seq", fmt.Sprintf("/jobs/%s?seq=%d", midID, midSeq)},
		{"job_by_id", "/jobs/" + midID},
		{"failed", "/failed"},
		{"failed_queue", "/failed?queue=bulk"},
		{"failed_function_kind", "/failed?function=fn5&kind=TimeoutError"}, // 1 record in 10 matches
		{"failed_no_match", "/failed?function=fn3&kind=TimeoutError"},      // none: stops at the scan bound
		{"failed_middle", fmt.Sprintf("/failed?from=%d", failed/2)},
		{"failed_record", fmt.Sprintf("/failed/%d", failed/2)},
		{"schedules", "/schedules"},
		{"workers", "/workers"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", p.path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// fillFailed writes n failed-job records as workers write them: ten
// functions, five error kinds.
func fillFailed(ctx context.Context, c *naq.Client, n int) error {
	if _, err := c.FailedCounts(ctx); err != nil { // provisions the stream
		return err
	}
	js := c.JetStream()
	kinds := []string{"TimeoutError", "ValueError", "KeyError", "ConnectionError", "naq:Poison"}
	now := time.Now().UTC()
	for i := range n {
		job := &naq.Job{ID: fmt.Sprintf("failed-%07d", i), Name: fmt.Sprintf("fn%d", i%10), Queue: "bulk",
			Args: []json.RawMessage{json.RawMessage(strconv.Itoa(i))}, EnqueuedAt: now}
		raw, err := job.Encode()
		if err != nil {
			return err
		}
		rec, err := json.Marshal(naq.FailedJob{JobID: job.ID, Name: job.Name, Queue: "bulk", Error: "it broke",
			ErrorKind: kinds[i%len(kinds)], Attempts: 3, MaxRetries: 2, EnqueuedAt: now, FailedAt: now, Job: raw})
		if err != nil {
			return err
		}
		if _, err := js.PublishAsync("naq.failed.bulk", rec); err != nil {
			return err
		}
		if i%2000 == 1999 {
			if err := waitAsync(ctx, js); err != nil {
				return err
			}
		}
	}
	return waitAsync(ctx, js)
}

func waitAsync(ctx context.Context, js jetstream.JetStream) error {
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return fmt.Errorf("failed records: publishes unanswered after a minute")
	}
}
