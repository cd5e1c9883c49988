package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// TestClusterFailover runs three `naq server` processes as a JetStream
// cluster, kills the leader of naq_jobs with SIGKILL while jobs are being
// enqueued and worked, and checks that every acknowledged job completes.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster: skipped with -short")
	}
	const total, beforeKill = 2000, 1000
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	// Three nodes, each routing to the other two.
	names := []string{"n1", "n2", "n3"}
	ports, cports := make([]int, 3), make([]int, 3)
	for i := range names {
		ports[i], cports[i] = freePort(t), freePort(t)
	}
	procs := make(map[string]*serverProc)
	var urls []string
	for i, name := range names {
		var routes []string
		for k := range names {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", cports[k]))
			}
		}
		p, err := launchServer("--name", name, "--port", strconv.Itoa(ports[i]), "--store", t.TempDir(),
			"--cluster-name", "naq-test", "--cluster-port", strconv.Itoa(cports[i]), "--routes", strings.Join(routes, ","))
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(p.stop)
		procs[name] = p
		urls = append(urls, p.url)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range names {
				t.Logf("stderr of %s (last 3000 bytes):\n%s", n, tail(procs[n].stderr.String(), 3000))
			}
		}
	})
	url := strings.Join(urls, ",")
	dial := func() *nats.Conn {
		nc, err := naq.Dial(ctx, naq.WithURL(url), naq.WithReconnects(-1, 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	// The cluster is ready once it has a meta leader: provisioning R3 works.
	nc := dial()
	start := time.Now()
	var c *naq.Client
	for {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		var err error
		c, err = naq.NewClient(actx, nc, naq.WithReplicas(3))
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no JetStream cluster after %s: %v", time.Since(start).Round(time.Millisecond), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))

	// A worker in this process, on its own connection, records what it ran.
	var mu sync.Mutex
	ran := make(map[string]int)
	w, err := worker.New(dial(), worker.WithReplicas(3), worker.WithConcurrency(20),
		worker.WithAckWait(5*time.Second), worker.WithPollWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("tasks:record", func(_ context.Context, j *naq.Job) (any, error) {
		mu.Lock()
		ran[j.ID]++
		mu.Unlock()
		return j.ID, nil
	})
	stopWorker := workertest.Run(t, w)
	defer stopWorker()

	// enqueue publishes job i until the cluster acknowledges it; the same id
	// makes a retried publish a no-op if an earlier one was stored after all.
	ids := make([]string, total)
	var retries int
	enqueue := func(i int) time.Time {
		ids[i] = fmt.Sprintf("cluster-job-%04d", i)
		j, err := naq.NewJob("tasks:record", naq.Args{i}, naq.JobID(ids[i]))
		if err != nil {
			t.Fatal(err)
		}
		for {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			err := c.EnqueueJob(pctx, j)
			pcancel()
			if err == nil {
				return time.Now()
			}
			if ctx.Err() != nil {
				t.Fatalf("enqueue %s: %v", ids[i], err)
			}
			retries++
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i := 0; i < beforeKill; i++ {
		enqueue(i)
	}

	// Kill the leader of naq_jobs, then keep enqueueing through the failover.
	stream, err := c.JetStream().Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.Cluster == nil || procs[info.Cluster.Leader] == nil {
		t.Fatalf("naq_jobs leader: %+v, %v", info, err)
	}
	leader := info.Cluster.Leader
	if len(info.Cluster.Replicas) != 2 {
		t.Fatalf("naq_jobs has %d replicas besides the leader, want 2", len(info.Cluster.Replicas))
	}
	killed := time.Now()
	procs[leader].kill()
	t.Logf("killed %s, the leader of naq_jobs, after %d jobs", leader, beforeKill)
	firstAfter := enqueue(beforeKill)
	t.Logf("failover: first enqueue acknowledged %s after the kill (%d retried publishes)",
		firstAfter.Sub(killed).Round(time.Millisecond), retries)
	for i := beforeKill + 1; i < total; i++ {
		enqueue(i)
	}
	if info, err := stream.Info(ctx); err == nil && info.Cluster != nil {
		t.Logf("new leader of naq_jobs: %s; all %d jobs enqueued %s after the kill",
			info.Cluster.Leader, total, time.Since(killed).Round(time.Millisecond))
	}

	// Every acknowledged job completes.
	for _, id := range ids {
		for {
			wctx, wc := context.WithTimeout(ctx, 5*time.Second)
			r, err := c.Wait(wctx, id)
			wc()
			if err == nil {
				if r.Status != naq.StateCompleted || string(r.Value) != `"`+id+`"` {
					t.Fatalf("job %s: result %s %s", id, r.Status, r.Value)
				}
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("job %s lost: %v", id, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for _, id := range ids {
		if ran[id] == 0 {
			t.Errorf("job %s has a result but the worker never ran it", id)
		}
		if ran[id] > 1 {
			twice++
		}
	}
	t.Logf("all %d jobs completed %s after the kill; %d ran more than once (at-least-once)",
		total, time.Since(killed).Round(time.Millisecond), twice)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
