package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// testCluster is three `naq server` processes routed to each other.
type testCluster struct {
	t     *testing.T
	names []string
	args  map[string][]string
	procs map[string]*serverProc
	url   string
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	c := &testCluster{t: t, names: []string{"n1", "n2", "n3"}, args: map[string][]string{}, procs: map[string]*serverProc{}}
	ports, cports := make([]int, 3), make([]int, 3)
	for i := range c.names {
		ports[i], cports[i] = freePort(t), freePort(t)
	}
	var urls []string
	for i, name := range c.names {
		var routes []string
		for k := range c.names {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", cports[k]))
			}
		}
		c.args[name] = []string{"--name", name, "--port", strconv.Itoa(ports[i]), "--store", t.TempDir(),
			"--cluster-name", "naq-test", "--cluster-port", strconv.Itoa(cports[i]), "--routes", strings.Join(routes, ",")}
		c.start(name)
		urls = append(urls, c.procs[name].url)
	}
	c.url = strings.Join(urls, ",")
	t.Cleanup(func() {
		for _, n := range c.names {
			if t.Failed() {
				t.Logf("stderr of %s (last 3000 bytes):\n%s", n, tail(c.procs[n].stderr.String(), 3000))
			}
			c.procs[n].stop()
		}
	})
	return c
}

// start starts (or restarts, on its store) node name.
func (c *testCluster) start(name string) {
	p, err := launchServer(c.args[name]...)
	if err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	c.procs[name] = p
}

// leaderOf returns the node leading stream.
func leaderOf(ctx context.Context, t *testing.T, c *naq.Client, stream string) string {
	t.Helper()
	for ctx.Err() == nil {
		// Each look on its own short deadline: an API request lost in a
		// leader change would otherwise wait out the whole test's.
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := c.JetStream().Stream(actx, stream)
		if err == nil {
			if info, err := s.Info(actx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				cancel()
				return info.Cluster.Leader
			}
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no leader of %s", stream)
	return ""
}

// A three-node cluster loses a node (kill -9) twice while producers and a
// worker run: the leader of naq_jobs, then, once it is back, the leader of
// the results bucket. No acknowledged job is lost or fails (as poison or
// otherwise), only jobs in flight at a kill run twice, and processing
// resumes once the servers have elected new leaders.
func TestClusterNodeKillsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster: skipped with -short")
	}
	const total, concurrency = 6000, 20
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cl := startCluster(t)
	dial := func() *nats.Conn {
		nc, err := naq.Dial(ctx, naq.WithURL(cl.url))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	nc := dial()
	var c *naq.Client
	for ctx.Err() == nil { // the cluster is ready once it has a JetStream meta leader
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		var err error
		c, err = naq.NewClient(actx, nc, naq.WithLogger(testutil.Logger()))
		acancel()
		if err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if s, err := c.JetStream().Stream(ctx, "naq_jobs"); err != nil || s.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("naq_jobs on a 3-node cluster without --replicas: %v", err)
	}

	log := newRunLog()
	w, err := worker.New(dial(), worker.WithConcurrency(concurrency), worker.WithAckWait(5*time.Second),
		worker.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("tasks:record", func(_ context.Context, j *naq.Job) (any, error) {
		time.Sleep(2 * time.Millisecond)
		log.record(j.ID)
		return j.ID, nil
	})
	stopWorker := workertest.Run(t, w)
	defer stopWorker()

	// The producer enqueues at a steady pace, each job until the cluster
	// acknowledges it; the same id makes a retried publish a no-op.
	ids := make([]string, total)
	var produced atomic.Int64
	producerDone := make(chan struct{})
	go func() {
		defer close(producerDone)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := range ids {
			<-tick.C
			id := fmt.Sprintf("kill-%05d", i)
			j, err := naq.NewJob("tasks:record", nil, naq.JobID(id))
			if err != nil {
				t.Error(err)
				return
			}
			for ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				err = c.EnqueueJob(pctx, j)
				pcancel()
				if err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			ids[i] = id
			produced.Add(1)
		}
	}()

	var kills []time.Time
	kill := func(stream string, after int) {
		for log.count() < after && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		node := leaderOf(ctx, t, c, stream)
		killed := time.Now()
		kills = append(kills, killed)
		cl.procs[node].kill()
		t.Logf("killed %s, the leader of %s, after %d runs", node, stream, log.count())
		// How long the servers take to elect a new leader (their Raft
		// election timeout is 4–9 s), for the record.
		for lastErr := error(nil); ; time.Sleep(50 * time.Millisecond) {
			if time.Since(killed) > 30*time.Second {
				t.Logf("no new leader of %s within 30 s (last: %v)", stream, lastErr)
				break
			}
			ictx, icancel := context.WithTimeout(ctx, time.Second)
			s, err := c.JetStream().Stream(ictx, stream)
			if err == nil {
				var info *jetstream.StreamInfo
				if info, err = s.Info(ictx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != node {
					icancel()
					t.Logf("new leader of %s: %s, %s after the kill", stream, info.Cluster.Leader, time.Since(killed).Round(time.Millisecond))
					break
				}
			}
			icancel()
			lastErr = err
		}
		time.Sleep(max(0, 2*time.Second-time.Since(killed)))
		cl.start(node)
	}
	kill("naq_jobs", total/4)
	time.Sleep(3 * time.Second) // the node catches up before the next kill
	kill("KV_naq_results", total*2/3)
	<-producerDone
	if ctx.Err() != nil {
		t.Fatal("the producer did not finish")
	}

	twice := checkAllCompleted(t, ctx, c, ids, log)
	// The pause is the servers' election of new leaders (nats-server's Raft
	// election timeout is random between 4 and 9 s after the last word from
	// the dead leader) plus what the worker adds: pulls asked again within
	// 2 s of their heartbeats stopping, writes retried every second.
	for i, k := range kills {
		gap := log.longestGap(k, k.Add(20*time.Second))
		t.Logf("kill %d: longest pause in processing %s", i+1, gap.Round(time.Millisecond))
		if gap > 14*time.Second {
			t.Errorf("kill %d: processing paused %s, more than an election (at most 9 s) and what the worker may add (a lost request found within 2 s, a refused one asked again within 1 s) with room for a loaded machine", i+1, gap.Round(time.Millisecond))
		}
	}
	// Jobs in flight at a kill may run again: 20 running and as many
	// delivered behind them, at each of the two kills.
	t.Logf("%d of %d jobs ran twice", twice, total)
	if twice > 2*2*concurrency {
		t.Errorf("%d jobs ran twice, more than were in flight at the two kills (%d)", twice, 2*2*concurrency)
	}
}
