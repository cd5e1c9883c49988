package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// naq job status shows a running job's last reported progress.
func TestJobStatusShowsProgress(t *testing.T) {
	e := newOpsEnv(t)
	release := make(chan struct{})
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("pages", func(ctx context.Context, job *naq.Job) (any, error) {
			if err := naq.Progress(ctx, 0.4, "page 40 of 100"); err != nil {
				return nil, err
			}
			<-release
			return nil, nil
		})
	})
	defer close(release)
	j, err := e.client.Enqueue(t.Context(), "pages", nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the progress record", func() bool {
		st, err := e.client.Status(t.Context(), j.ID)
		return err == nil && st.Progress != nil
	})
	out := e.ok(t, "job", "status", j.ID)
	if !strings.Contains(out, "progress") || !strings.Contains(out, "40% page 40 of 100") {
		t.Errorf("naq job status:\n%s\nwant the progress row", out)
	}
	var st naq.JobStatus
	e.json(t, &st, "job", "status", j.ID)
	if st.Progress == nil || st.Progress.Fraction != 0.4 || st.Progress.Message != "page 40 of 100" {
		t.Errorf("naq job status --json: progress %+v", st.Progress)
	}
}
