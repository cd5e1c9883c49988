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

// A running job's page shows its last reported progress.
func TestJobPageShowsProgress(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(nc, worker.WithLogger(testutil.Logger()), worker.WithPollWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	w.HandleFunc("pages", func(ctx context.Context, job *naq.Job) (any, error) {
		if err := naq.Progress(ctx, 0.4, "page 40 of <100>"); err != nil {
			return nil, err
		}
		<-release
		return nil, nil
	})
	workertest.Run(t, w)
	defer close(release)
	j, err := c.Enqueue(ctx, "pages", nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the progress record", func() bool {
		st, err := c.Status(ctx, j.ID)
		return err == nil && st.Progress != nil
	})
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+j.ID, nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<progress id="progress" max="1" value="0.4">`) ||
		!strings.Contains(body, "40% page 40 of &lt;100&gt;") {
		t.Errorf("job page (%d) without the progress:\n%s", rec.Code, body)
	}
}
