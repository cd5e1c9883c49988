package dashboard_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// A job's page lists the jobs that wait for it through depends_on.
func TestJobPageListsDependents(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	// No worker takes queue "later": every job stays pending.
	first, err := c.Enqueue(ctx, "load", nil, naq.Queue("later"))
	if err != nil {
		t.Fatal(err)
	}
	var waiting []string
	for range 2 {
		j, err := c.Enqueue(ctx, "<i>report</i>", nil, naq.Queue("later"), naq.DependsOn(first.ID))
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, j.ID)
	}
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var section string
	listed := func() bool {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+first.ID, nil))
		if rec.Code != 200 {
			t.Fatalf("job page: %d\n%s", rec.Code, rec.Body.String())
		}
		_, section, _ = strings.Cut(rec.Body.String(), `<section id="dependents">`)
		section, _, _ = strings.Cut(section, "</section>")
		for _, id := range waiting {
			if !strings.Contains(section, `<a href="/jobs/`+id+`">`+id+`</a> (&lt;i&gt;report&lt;/i&gt;): pending`) {
				return false
			}
		}
		return true
	}
	// The index's entries are stored beside their jobs, not before the
	// enqueue returns.
	testutil.Eventually(t, 10*time.Second, "both dependents on the job's page", listed)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+waiting[0], nil))
	if !strings.Contains(rec.Body.String(), "no job waits for this one") {
		t.Errorf("a job nothing waits for:\n%s", rec.Body.String())
	}
}

// A finished job's page shows its arguments when the worker kept them in its
// result, as text, and says how to keep them when it did not.
func TestFinishedJobArgs(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx := t.Context()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	page := func(id string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+id, nil))
		if rec.Code != 200 {
			t.Fatalf("job page: %d\n%s", rec.Code, rec.Body.String())
		}
		_, args, _ := strings.Cut(rec.Body.String(), "<h2>Arguments</h2>")
		args, _, _ = strings.Cut(args, "<h2>")
		return args
	}
	run := func(opts ...worker.Option) string {
		w, err := worker.New(nc, append(opts, worker.WithLogger(testutil.Logger()))...)
		if err != nil {
			t.Fatal(err)
		}
		w.HandleFunc("greet", func(context.Context, *naq.Job) (any, error) { return "hi", nil })
		stop := workertest.Run(t, w)
		defer stop()
		j, err := c.Enqueue(ctx, "greet", naq.Kwargs{"name": "<script>alert(1)</script>"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Wait(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	kept := page(run(worker.WithResultArgs()))
	if !strings.Contains(kept, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(kept, "<script>") || !strings.Contains(kept, "From its result record") {
		t.Errorf("arguments kept in the result:\n%s", kept)
	}
	gone := page(run())
	if strings.Contains(gone, "alert(1)") || !strings.Contains(gone, "--result-args") {
		t.Errorf("arguments not kept:\n%s", gone)
	}
}
