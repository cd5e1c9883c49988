package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/worker"
)

// ScaleChildArg, as a program's first argument, makes it a child of the
// scale scenario (RunScaleChild): a producer or a worker in a process of its
// own, so that its memory and CPU are its own and not the server's.
const ScaleChildArg = "-scale-child"

// scaleChild is what a scale child reports on its standard output's last
// line (earlier lines are markers for the parent).
type scaleChild struct {
	Seconds float64 `json:"seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
	// A worker's resident memory after its first 50,000 jobs (or its
	// first tenth, for fewer) and at the end, and its rates over those
	// first jobs, over the last as many, and over all.
	RSSEarly  int64   `json:"rss_early_bytes,omitempty"`
	RSSEnd    int64   `json:"rss_end_bytes,omitempty"`
	RateEarly float64 `json:"rate_early,omitempty"`
	RateLate  float64 `json:"rate_late,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	// Per worker, the jobs each of several workers took.
	Shares []int64 `json:"shares,omitempty"`
	// Idle CPU of a worker on many queues (fraction of one core), and the
	// start latencies of jobs enqueued on random queues, in microseconds.
	IdleCPU   float64   `json:"idle_cpu,omitempty"`
	Latencies []float64 `json:"latencies_us,omitempty"`
}

// RunScaleChild runs one part of the scale scenario: args are what follows
// ScaleChildArg (the part, then -url, -jobs, -queues, -workers).
func RunScaleChild(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s needs a part", ScaleChildArg)
	}
	part := args[0]
	var url string
	var jobs, queues, workers, concurrency int
	fs := flag.NewFlagSet(ScaleChildArg, flag.ContinueOnError)
	fs.StringVar(&url, "url", "", "")
	fs.IntVar(&jobs, "jobs", 0, "")
	fs.IntVar(&queues, "queues", 1, "")
	fs.IntVar(&workers, "workers", 1, "")
	fs.IntVar(&concurrency, "concurrency", DefaultConcurrency, "")
	idle := fs.Duration("idle", 10*time.Second, "")
	samples := fs.Int("samples", 100, "")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var rep scaleChild
	var err error
	switch part {
	case "enqueue":
		rep, err = scaleEnqueue(ctx, url, jobs)
	case "work":
		rep, err = scaleWork(ctx, url, jobs, workers, concurrency)
	case "queues":
		rep, err = scaleQueues(ctx, url, queues, concurrency, *idle, *samples, out)
	default:
		err = fmt.Errorf("%s: no part %q", ScaleChildArg, part)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", part, err)
	}
	rep.PeakRSS = ownPeakRSS()
	return json.NewEncoder(out).Encode(rep)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// scaleEnqueue builds n jobs and enqueues them with one EnqueueMany call.
func scaleEnqueue(ctx context.Context, url string, n int) (scaleChild, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return scaleChild{}, err
	}
	defer nc.Close()
	c, err := naq.NewClient(ctx, nc, naq.WithDefaultQueue(queue), naq.WithLogger(quiet))
	if err != nil {
		return scaleChild{}, err
	}
	defer c.Close()
	t := time.Now()
	jobs := make([]*naq.Job, n)
	for i := range jobs {
		if jobs[i], err = naq.NewJob(jobName, sampleArgs); err != nil {
			return scaleChild{}, err
		}
	}
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		return scaleChild{}, err
	}
	return scaleChild{Seconds: time.Since(t).Seconds()}, nil
}

// scaleWork runs workers (each on a connection of its own) with a no-op
// handler until n jobs are handled and the queue is empty.
func scaleWork(ctx context.Context, url string, n, workers, concurrency int) (scaleChild, error) {
	early := min(50000, max(1, n/10))
	var handled atomic.Int64
	counts := make([]atomic.Int64, workers)
	var rep scaleChild
	marks := make(chan time.Time, 2)
	ws := make([]*worker.Worker, workers)
	for i := range ws {
		nc, err := nats.Connect(url)
		if err != nil {
			return rep, err
		}
		defer nc.Close()
		if ws[i], err = worker.New(nc, worker.WithQueues(queue), worker.WithConcurrency(concurrency),
			worker.WithLogger(quiet), worker.WithName("naqbench-"+strconv.Itoa(i))); err != nil {
			return rep, err
		}
		count := &counts[i]
		ws[i].HandleFunc(jobName, func(context.Context, *naq.Job) (any, error) {
			count.Add(1)
			switch handled.Add(1) {
			case int64(early), int64(n - early):
				marks <- time.Now()
			}
			return nil, nil
		})
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, workers)
	start := time.Now()
	for _, w := range ws {
		go func() { done <- w.Run(wctx) }()
	}
	var earlyAt, lateAt time.Time
	js, err := jetstreamFor(url)
	if err != nil {
		return rep, err
	}
	defer js.close()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case t := <-marks:
			if earlyAt.IsZero() {
				earlyAt, rep.RSSEarly = t, currentRSS()
			} else {
				lateAt = t
			}
			continue
		case err := <-done:
			return rep, fmt.Errorf("a worker stopped: %v", err)
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-tick.C:
		}
		if handled.Load() < int64(n) {
			continue
		}
		left, err := js.msgs(ctx, layout.JobsStream)
		if err != nil {
			return rep, err
		}
		if left == 0 {
			break
		}
	}
	end := time.Now()
	rep.RSSEnd = currentRSS()
	rep.Seconds = end.Sub(start).Seconds()
	rep.Rate = float64(n) / rep.Seconds
	rep.RateEarly = float64(early) / earlyAt.Sub(start).Seconds()
	if !lateAt.IsZero() {
		rep.RateLate = float64(early) / end.Sub(lateAt).Seconds()
	}
	for i := range counts {
		rep.Shares = append(rep.Shares, counts[i].Load())
	}
	stop()
	for range ws {
		<-done
	}
	return rep, nil
}

// scaleQueues runs one worker on queues queues and reports its CPU while it
// idles (marked on out for the parent, which measures the server's over the
// same time), then enqueues samples jobs one at a time on random queues and
// times each from before its enqueue to its handler's start.
func scaleQueues(ctx context.Context, url string, queues, concurrency int, idle time.Duration, samples int, out io.Writer) (scaleChild, error) {
	var rep scaleChild
	names := make([]string, queues)
	for i := range names {
		names[i] = queueName(i)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return rep, err
	}
	defer nc.Close()
	w, err := worker.New(nc, worker.WithQueues(names...), worker.WithConcurrency(concurrency), worker.WithLogger(quiet),
		worker.WithName("naqbench-queues"))
	if err != nil {
		return rep, err
	}
	started := make(chan time.Time, 1)
	w.HandleFunc(jobName, func(context.Context, *naq.Job) (any, error) {
		started <- time.Now()
		return nil, nil
	})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	select {
	case <-w.Ready():
	case err := <-done:
		return rep, fmt.Errorf("worker: %v", err)
	}
	time.Sleep(idle / 5) // past the start's own work
	fmt.Fprintln(out, "idle-begin")
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(idle)
	rep.IdleCPU = float64(cpuTime()-cpu0) / float64(time.Since(t0))
	fmt.Fprintln(out, "idle-end")

	pnc, err := nats.Connect(url)
	if err != nil {
		return rep, err
	}
	defer pnc.Close()
	c, err := naq.NewClient(ctx, pnc, naq.WithLogger(quiet))
	if err != nil {
		return rep, err
	}
	defer c.Close()
	for range samples {
		q := names[rand.IntN(len(names))]
		t := time.Now()
		if _, err := c.Enqueue(ctx, jobName, sampleArgs, naq.Queue(q)); err != nil {
			return rep, err
		}
		select {
		case s := <-started:
			rep.Latencies = append(rep.Latencies, float64(s.Sub(t).Microseconds()))
		case <-time.After(30 * time.Second):
			return rep, fmt.Errorf("a job on queue %s did not start within 30 s", q)
		}
		time.Sleep(20 * time.Millisecond) // one at a time, on a worker otherwise idle
	}
	slices.Sort(rep.Latencies)
	stop()
	<-done
	return rep, nil
}

// streamCounter asks a server how many messages a stream holds.
type streamCounter struct {
	nc *nats.Conn
	js jetstream.JetStream
}

func jetstreamFor(url string) (*streamCounter, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &streamCounter{nc, js}, nil
}

func (s *streamCounter) msgs(ctx context.Context, stream string) (uint64, error) {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	return streamMsgs(ctx, st)
}

func (s *streamCounter) close() { s.nc.Close() }

// queueName is the i-th of the many queues.
func queueName(i int) string { return fmt.Sprintf("q%04d", i) }
