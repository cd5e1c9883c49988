package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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

// naq enqueue --unique-key enqueues once and then prints the id of the job
// already held; --rate-key is written into the job.
func TestEnqueueUniqueAndRateKey(t *testing.T) {
	url, _ := jobTestServer(t)
	first, stderr, code := naqAt(t, url, "enqueue", "report:build", "-q", "reports", "--unique-key", "daily", "--rate-key", "partner")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	again, stderr, code := naqAt(t, url, "enqueue", "report:build", "-q", "reports", "--unique-key", "daily", "--args", "[2]")
	if code != 0 || again != first || !strings.Contains(stderr, "unique key") {
		t.Fatalf("second enqueue: exit %d, id %q (first %q); stderr:\n%s", code, again, first, stderr)
	}
	out, stderr, code := naqAt(t, url, "enqueue", "x", "--json", "--rate-key", "partner", "--unique", "--unique-scope", "pending")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var printed struct{ Job json.RawMessage }
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatal(err)
	}
	j, err := naq.DecodeJob(printed.Job)
	if err != nil || j.Flow == nil || j.Flow.RateKey != "partner" || j.Flow.UniqueScope != naq.UniquePending || j.Flow.UniqueKey == "" {
		t.Fatalf("job %s: %+v %v", printed.Job, j, err)
	}
	for _, args := range [][]string{
		{"enqueue", "x", "--unique-scope", "pending"},
		{"enqueue", "x", "--unique", "--unique-scope", "forever"},
		{"enqueue", "x", "--unique-for", "10ms"},
		{"enqueue", "x", "--rate-key", "a b"},
		{"enqueue", "--file", "-", "--unique"},
	} {
		if _, stderr, code := naqAt(t, url, args...); code != exitUsage {
			t.Errorf("naq %v: exit %d, want 2; stderr:\n%s", args, code, stderr)
		}
	}
}
