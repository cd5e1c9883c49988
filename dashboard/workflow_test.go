package dashboard_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
)

// A workflow's page lists its steps with their dependencies both ways; a
// step's job page links to it.
func TestWorkflowPage(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	// No worker takes queue "crawl": every step stays pending.
	wf, err := c.EnqueueWorkflow(ctx, naq.Chain(
		naq.Step("site:list", "<b>example.org</b>", naq.Queue("crawl")),
		naq.Group(
			naq.Step("page:count", "a", naq.Queue("crawl")),
			naq.Step("page:count", "b", naq.Queue("crawl")),
		).Then(naq.Step("report:sum", nil, naq.Queue("crawl"))),
	), naq.WorkflowID("crawl-1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(wf.Steps) != 4 {
		t.Fatalf("%d steps, want 4", len(wf.Steps))
	}
	first, a, b, sum := wf.Steps[0].JobID, wf.Steps[1].JobID, wf.Steps[2].JobID, wf.Steps[3].JobID

	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	get := func(target string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		return rec.Code, rec.Body.String()
	}

	code, body := get("/workflows/crawl-1")
	if code != 200 {
		t.Fatalf("workflow page: %d\n%s", code, body)
	}
	rows := strings.Split(body, "<tr>")
	row := func(id string) string {
		for _, r := range rows {
			if strings.Contains(r, `<a href="/jobs/`+id+`">`+id+`</a></td><td>`) { // its own job cell, not a dependency
				return r
			}
		}
		t.Fatalf("no row for step %s:\n%s", id, body)
		return ""
	}
	// The first step is needed by both members; each member depends on it
	// and is needed by the callback, which depends on both.
	if r := row(first); !strings.Contains(r, a) || !strings.Contains(r, b) || strings.Contains(r, sum) {
		t.Errorf("first step's row, want needed by %s and %s only:\n%s", a, b, r)
	}
	if r := row(a); !strings.Contains(r, first) || !strings.Contains(r, sum) {
		t.Errorf("member's row, want depends on %s, needed by %s:\n%s", first, sum, r)
	}
	if r := row(sum); !strings.Contains(r, a) || !strings.Contains(r, b) || !strings.Contains(r, "pending") {
		t.Errorf("callback's row, want depends on both members, pending:\n%s", r)
	}

	if code, body := get("/workflows/nope"); code != 404 {
		t.Errorf("unknown workflow: %d\n%s", code, body)
	}

	// The first step's job page, opened from its queue, names its workflow.
	page, err := c.QueueJobs(ctx, "crawl", 1, 10)
	if err != nil || len(page.Jobs) == 0 {
		t.Fatalf("queue crawl: %v, %+v", err, page)
	}
	var seq uint64
	for _, m := range page.Jobs {
		if m.Job != nil && m.Job.ID == first {
			seq = m.Seq
		}
	}
	code, body = get("/jobs/" + first + "?seq=" + strconv.FormatUint(seq, 10))
	if code != 200 || !strings.Contains(body, `<a href="/workflows/crawl-1">crawl-1</a>`) ||
		!strings.Contains(body, "&lt;b&gt;example.org&lt;/b&gt;") {
		t.Errorf("first step's job page (%d) without its workflow or escaped arguments:\n%s", code, body)
	}
}
