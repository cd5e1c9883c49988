package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/naqgo/naq"
)

// The flow-control flags reach the worker: it consumes the queues its
// priorities name, caps one, and runs rate-limited jobs.
func TestWorkerFlowFlags(t *testing.T) {
	url, c := jobTestServer(t)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(ep.Close)
	startHTTPWorker(t, url, "--target", ep.URL, "--priority", "hi=3,lo=1", "--strict-priority",
		"--max-running", "lo=2", "--rate-limit", "partner=5/1s", "--function-rate-limit", "a=b:c=5/1s")
	ctx := jobTestCtx(t)
	for _, q := range []string{"hi", "lo"} {
		j, err := c.Enqueue(ctx, "call", nil, naq.Queue(q), naq.RateKey("partner"))
		if err != nil {
			t.Fatal(err)
		}
		if res := awaitJobResult(t, c, j.ID); res.Status != naq.StateCompleted {
			t.Errorf("job on %s: %+v", q, res)
		}
	}
}

func TestWorkerFlowFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--priority", "hi"},
		{"--priority", "hi=x"},
		{"--priority", "hi=0"},
		{"--max-running", "q=-1"},
		{"--max-running", "=3"},
		{"--rate-limit", "partner=5"},
		{"--rate-limit", "partner=5/soon"},
		{"--rate-limit", "bad key=5/1s"},
		{"--function-rate-limit", "f=0/1s"},
		{"q1", "--priority", "q2=3"},
	} {
		args = append([]string{"worker", "--target", "http://localhost:1/"}, args...)
		_, stderr, code := runNaq(t, []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}, args...)
		if code != exitUsage {
			t.Errorf("naq %v: exit %d, want 2; stderr:\n%s", args, code, stderr)
		}
	}
}
