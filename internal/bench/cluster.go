package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
)

// ClusterLine is one setup of the cluster comparison: naq's bulk enqueue and
// processing rates, and bare JetStream's asynchronous publish from three
// connections into one stream and into three (led by whichever nodes the
// cluster chose), all on servers in this process.
type ClusterLine struct {
	Setup       string   `json:"setup"`
	EnqueueRate float64  `json:"enqueue_rate"`
	ProcessRate float64  `json:"process_rate"`
	RawOne      float64  `json:"raw_publish_one_stream"`
	RawThree    float64  `json:"raw_publish_three_streams"`
	Leaders     []string `json:"raw_stream_leaders,omitempty"`
	// The nodes leading naq_jobs and the results bucket's stream, and the
	// one the client and the worker are connected to.
	JobsLeader, ResultsLeader, ClientNode, WorkerNode string
}

// RunCluster compares one node with a three-node cluster at one replica and
// at three, N jobs each way.
func RunCluster(ctx context.Context, cfg Config, out io.Writer) ([]ClusterLine, error) {
	cfg = cfg.withDefaults()
	var lines []ClusterLine
	for _, setup := range []struct {
		name     string
		nodes    int
		replicas int
	}{{"one node", 1, 1}, {"three nodes, R1", 3, 1}, {"three nodes, R3", 3, 3}} {
		urls, stop, err := startNodes(setup.nodes)
		if err != nil {
			return nil, err
		}
		l, err := clusterSetup(ctx, cfg, urls, setup.replicas)
		stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup.name, err)
		}
		l.Setup = setup.name
		fmt.Fprintf(out, "%s: enqueue %.0f jobs/s, process %.0f jobs/s, raw publish one stream %.0f/s, three streams %.0f/s (leaders %v); naq_jobs led by %s, results by %s, client on %s, worker on %s\n",
			l.Setup, l.EnqueueRate, l.ProcessRate, l.RawOne, l.RawThree, l.Leaders, l.JobsLeader, l.ResultsLeader, l.ClientNode, l.WorkerNode)
		lines = append(lines, l)
	}
	return lines, nil
}

// startNodes starts n in-process servers routed to each other, each with a
// TCP listener, and returns their client URLs.
func startNodes(n int) (urls []string, stop func(), err error) {
	var servers []*embedded.Server
	var dirs []string
	stop = func() {
		for _, s := range servers {
			s.Shutdown()
		}
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, stop, err
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	for i := range n {
		d, err := os.MkdirTemp("", "naqbench-cluster-")
		if err != nil {
			stop()
			return nil, nil, err
		}
		dirs = append(dirs, d)
		opts := []embedded.Option{embedded.WithName("n" + strconv.Itoa(i+1)), embedded.WithListen("127.0.0.1", -1)}
		if n > 1 {
			var routes []string
			for k, p := range ports {
				if k != i {
					routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
				}
			}
			opts = append(opts, embedded.WithCluster("naqbench", "127.0.0.1", ports[i], routes...))
		}
		srv, err := embedded.Start(d, opts...)
		if err != nil {
			stop()
			return nil, nil, err
		}
		servers = append(servers, srv)
		urls = append(urls, srv.ClientURL())
	}
	return urls, stop, nil
}

// clusterSetup measures one setup: a client on the first node, a worker on
// the last, bare publishes spread over the nodes.
func clusterSetup(ctx context.Context, cfg Config, urls []string, replicas int) (ClusterLine, error) {
	var l ClusterLine
	cnc, err := connectRetry(ctx, urls[0])
	if err != nil {
		return l, err
	}
	defer cnc.Close()
	wnc, err := connectRetry(ctx, urls[len(urls)-1])
	if err != nil {
		return l, err
	}
	defer wnc.Close()
	e := &env{cfg: cfg, workerNC: wnc, logger: quiet}
	if e.js, err = jetstream.New(cnc); err != nil {
		return l, err
	}
	// A new cluster elects its meta leader first: the client's first
	// requests wait for it.
	for {
		if e.client, err = naq.NewClient(ctx, cnc, naq.WithDefaultQueue(queue), naq.WithLogger(quiet), naq.WithReplicas(replicas)); err == nil {
			break
		}
		if ctx.Err() != nil {
			return l, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer e.client.Close()
	if e.jobs, err = e.js.Stream(ctx, layout.JobsStream); err != nil {
		return l, err
	}
	if e.results, err = e.js.Stream(ctx, resultsKV); err != nil {
		return l, err
	}
	l.JobsLeader, l.ResultsLeader = leaderOf(ctx, e.jobs), leaderOf(ctx, e.results)
	l.ClientNode, l.WorkerNode = cnc.ConnectedServerName(), wnc.ConnectedServerName()
	r, err := e.naqEnqueueMany(ctx)
	if err != nil {
		return l, err
	}
	l.EnqueueRate = r.rate()
	if r, err = e.naqProcess(ctx); err != nil {
		return l, err
	}
	l.ProcessRate = r.rate()
	j, err := naq.NewJob(jobName, sampleArgs, naq.Queue(queue))
	if err != nil {
		return l, err
	}
	if e.payload, err = j.Encode(); err != nil {
		return l, err
	}
	if l.RawOne, _, err = rawSpread(ctx, urls, replicas, 1, e.payload, cfg.Jobs); err != nil {
		return l, err
	}
	l.RawThree, l.Leaders, err = rawSpread(ctx, urls, replicas, 3, e.payload, cfg.Jobs)
	return l, err
}

// rawSpread publishes n messages in all from three connections, one to each
// node (in turn), asynchronously, into streams streams (publisher i into
// stream i mod streams), and returns the rate at which all were stored, with
// each stream's leader.
func rawSpread(ctx context.Context, urls []string, replicas, streams int, payload []byte, n int) (float64, []string, error) {
	const publishers = 3
	type side struct {
		js   jetstream.JetStream
		subj string
	}
	sides := make([]side, publishers)
	var leaders []string
	for i := range sides {
		nc, err := connectRetry(ctx, urls[i%len(urls)])
		if err != nil {
			return 0, nil, err
		}
		defer nc.Close()
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
		if err != nil {
			return 0, nil, err
		}
		name := fmt.Sprintf("spread_%d_%d", streams, i%streams)
		if i < streams {
			sc := layout.JobsStreamConfig(layout.Config{})
			sc.Name, sc.Subjects, sc.Replicas = name, []string{name + ".>"}, replicas
			s, err := js.CreateOrUpdateStream(ctx, sc)
			if err != nil {
				return 0, nil, err
			}
			leaders = append(leaders, leaderOf(ctx, s))
			defer js.DeleteStream(context.Background(), name)
		}
		sides[i] = side{js, name + ".queue.bench"}
	}
	var wg sync.WaitGroup
	errs := make([]error, publishers)
	start := time.Now()
	for i, s := range sides {
		wg.Go(func() {
			for range n / publishers {
				if _, err := s.js.PublishAsync(s.subj, payload, jetstream.WithStallWait(time.Minute)); err != nil {
					errs[i] = err
					return
				}
			}
			select {
			case <-s.js.PublishAsyncComplete():
			case <-ctx.Done():
				errs[i] = ctx.Err()
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, nil, err
		}
	}
	return float64(n/publishers*publishers) / d.Seconds(), leaders, nil
}

func connectRetry(_ context.Context, url string) (*nats.Conn, error) {
	return nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
}

// leaderOf is the node leading s ("" on a single server).
func leaderOf(ctx context.Context, s jetstream.Stream) string {
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}
