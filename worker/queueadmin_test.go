package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// The client's queue operations: a queue's jobs page by page with the
// running ones told apart, pause and resume, and delete.
func TestQueueJobsPagesPauseResumeDelete(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var ids []string
	for i := range 7 {
		j, err := e.client.Enqueue(ctx, "sum", []int{i}, naq.Queue("pages"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	qi, err := e.client.Queue(ctx, "pages")
	if err != nil || qi.Messages != 7 || qi.Consumer {
		t.Fatalf("queue: %+v %v", qi, err)
	}
	if _, err := e.client.Queue(ctx, "nosuch"); !errors.Is(err, naq.ErrQueueNotFound) {
		t.Fatalf("unknown queue: %v", err)
	}
	var got []string
	for from := uint64(1); from != 0; {
		page, err := e.client.QueueJobs(ctx, "pages", from, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Jobs) > 3 {
			t.Fatalf("page of %d", len(page.Jobs))
		}
		for _, j := range page.Jobs {
			got = append(got, j.Job.ID)
		}
		from = page.Next
	}
	if len(got) != 7 || got[0] != ids[0] || got[6] != ids[6] {
		t.Fatalf("paged ids %v, want %v", got, ids)
	}

	st, err := e.client.PauseQueue(ctx, "pages", time.Time{})
	if err != nil || !st.Paused || !st.Created {
		t.Fatalf("pause: %+v %v", st, err)
	}
	release := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("sum", func(ctx context.Context, j *naq.Job) (any, error) { <-release; return 1, nil })
	}, worker.WithQueues("pages"), worker.WithConcurrency(2))
	time.Sleep(300 * time.Millisecond)
	if qi, _ := e.client.Queue(ctx, "pages"); qi.Running != 0 || !qi.PausedIndefinitely() {
		t.Fatalf("paused queue handed out jobs: %+v", qi)
	}
	if err := e.client.ResumeQueue(ctx, "pages"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "two jobs running", func() bool { qi, _ := e.client.Queue(ctx, "pages"); return qi.Running == 2 })
	page, err := e.client.QueueJobs(ctx, "pages", 1, 10)
	if err != nil || len(page.Jobs) != 7 || !page.Jobs[0].Delivered || !page.Jobs[1].Delivered || page.Jobs[2].Delivered {
		t.Fatalf("after resume: %+v %v", page, err)
	}
	qi, _ = e.client.Queue(ctx, "pages")
	if pending, _ := e.client.QueueJobs(ctx, "pages", qi.Delivered+1, 10); len(pending.Jobs) != 5 || pending.Jobs[0].Job.ID != ids[2] {
		t.Fatalf("pending from %d: %+v", qi.Delivered+1, pending)
	}
	one, err := e.client.QueuedJobAt(ctx, page.Jobs[3].Seq)
	if err != nil || one.Job.ID != ids[3] || one.Queue != "pages" {
		t.Fatalf("job at %d: %+v %v", page.Jobs[3].Seq, one, err)
	}
	n, err := e.client.DeleteQueue(ctx, "pages")
	close(release)
	if err != nil || n != 7 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if left, _ := e.client.QueueJobs(ctx, "pages", 1, 10); len(left.Jobs) != 0 {
		t.Fatalf("jobs left after delete: %+v", left.Jobs)
	}
}

// Failed records page by page under a filter; requeue and delete by filter.
func TestFailedPageFiltersAndRequeueMatching(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("a", func(ctx context.Context, j *naq.Job) (any, error) { return nil, errors.New("a broke") })
		w.HandleFunc("b", func(ctx context.Context, j *naq.Job) (any, error) { return nil, errors.New("b broke") })
	})
	var ids []string
	for i := range 6 {
		name := "a"
		if i%3 == 0 {
			name = "b"
		}
		j, err := e.client.Enqueue(ctx, name, nil, naq.MaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		e.wait(t, id)
	}
	testutil.Eventually(t, 30*time.Second, "six records", func() bool { r, _ := e.client.ListFailed(ctx, "", 0); return len(r) == 6 })
	page, err := e.client.FailedPage(ctx, naq.FailedQuery{FailedFilter: naq.FailedFilter{Function: "a"}, Limit: 3})
	if err != nil || len(page.Records) != 3 || page.Next == 0 {
		t.Fatalf("first page of a: %+v %v", page, err)
	}
	rest, err := e.client.FailedPage(ctx, naq.FailedQuery{FailedFilter: naq.FailedFilter{Function: "a"}, From: page.Next, Limit: 3})
	if err != nil || len(rest.Records) != 1 || rest.Next != 0 || rest.Records[0].Name != "a" {
		t.Fatalf("second page of a: %+v %v", rest, err)
	}
	// A scan bound cuts a page short and says where to go on.
	short, err := e.client.FailedPage(ctx, naq.FailedQuery{FailedFilter: naq.FailedFilter{Function: "b"}, Limit: 5, MaxScan: 2})
	if err != nil || len(short.Records) != 1 || short.Scanned != 2 || short.Next == 0 {
		t.Fatalf("bounded page: %+v %v", short, err)
	}
	n, err := e.client.DeleteFailedMatching(ctx, naq.FailedFilter{Function: "b"})
	if err != nil || n != 2 {
		t.Fatalf("delete b: %d %v", n, err)
	}
	n, err = e.client.RequeueFailedMatching(ctx, naq.FailedFilter{Function: "a", Queue: naq.DefaultQueue}, nil)
	if err != nil || n != 4 {
		t.Fatalf("requeue a: %d %v", n, err)
	}
	// Requeued, they fail again: four new records, none of b.
	testutil.Eventually(t, 30*time.Second, "four records again", func() bool { r, _ := e.client.ListFailed(ctx, "", 0); return len(r) == 4 })
	if bs, _ := e.client.FailedPage(ctx, naq.FailedQuery{FailedFilter: naq.FailedFilter{ErrorKind: "nosuchkind"}}); len(bs.Records) != 0 {
		t.Fatalf("kind filter matched %+v", bs.Records)
	}
}
