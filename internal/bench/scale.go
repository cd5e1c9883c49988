package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
)

// ScaleConfig sizes the scale scenario. Zero fields take the defaults.
type ScaleConfig struct {
	Jobs        int           // queued at once (default 1,000,000)
	BaseJobs    int           // the burn-down size the rates are set against (default 50,000)
	Queues      int           // queues on one worker (default 1,000)
	Workers     int           // workers on one queue (default 20)
	WorkersJobs int           // jobs the workers share (default 200,000)
	Concurrency int           // each worker's (default DefaultConcurrency)
	Idle        time.Duration // how long the many-queues worker idles, measured (default 10 s)
	Samples     int           // jobs timed from enqueue to start on random queues (default 100)
	Dir         string
	// Executable runs RunScaleChild when started with ScaleChildArg.
	Executable string
}

func (c ScaleConfig) withDefaults() ScaleConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Jobs, 1000000)
	def(&c.BaseJobs, 50000)
	def(&c.Queues, 1000)
	def(&c.Workers, 20)
	def(&c.WorkersJobs, 200000)
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.Samples, 100)
	if c.Idle <= 0 {
		c.Idle = 10 * time.Second
	}
	return c
}

// ScaleReport is the outcome of RunScale. The server runs in the benchmark's
// process, with a TCP listener; producers and workers each in a process of
// their own, so every memory and CPU figure is the one process's.
type ScaleReport struct {
	Config ScaleConfig `json:"config"`
	Load   []string    `json:"load"` // /proc/loadavg before and after

	BaseEnqueueSeconds float64 `json:"base_enqueue_seconds"`
	BaseRate           float64 `json:"base_rate"` // jobs/s working off BaseJobs
	BaseWorkerRSS      int64   `json:"base_worker_rss_bytes"`

	EnqueueSeconds  float64 `json:"enqueue_seconds"` // one EnqueueMany of Jobs, NewJob included
	ProducerPeakRSS int64   `json:"producer_peak_rss_bytes"`
	ServerRSSQueued int64   `json:"server_rss_queued_bytes"` // with Jobs queued
	DiskBytesPerJob float64 `json:"disk_bytes_per_job"`
	Rate            float64 `json:"rate"` // working off Jobs
	RateEarly       float64 `json:"rate_first_50000"`
	RateLate        float64 `json:"rate_last_50000"`
	WorkerRSSEarly  int64   `json:"worker_rss_after_50000_bytes"`
	WorkerRSSEnd    int64   `json:"worker_rss_end_bytes"`
	WorkerPeakRSS   int64   `json:"worker_peak_rss_bytes"`
	ServerPeakRSS   int64   `json:"server_peak_rss_bytes"`
	// Queues on one worker: at the worker's concurrency, then with as
	// many slots as queues.
	QueuesRuns       []QueuesRun `json:"queues_runs"`
	WorkersRate      float64     `json:"workers_rate"`
	Shares           []int64     `json:"workers_shares"`
	ShareMin         int64       `json:"workers_share_min"`
	ShareMax         int64       `json:"workers_share_max"`
	ShareCV          float64     `json:"workers_share_cv"` // standard deviation / mean
	ElapsedSeconds   float64     `json:"elapsed_seconds"`
	ServerResultsMsg uint64      `json:"results_stored"`
}

// RunScale runs the scale scenario: Jobs queued at once and worked off by
// one worker (against BaseJobs the same way), a worker on Queues queues, and
// Workers workers on one queue.
func RunScale(ctx context.Context, cfg ScaleConfig, out io.Writer) (*ScaleReport, error) {
	cfg = cfg.withDefaults()
	rep := &ScaleReport{Config: cfg, Load: []string{loadAvg()}}
	started := time.Now()
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "naqbench-scale-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	srv, err := embedded.Start(dir, embedded.WithListen("127.0.0.1", -1))
	if err != nil {
		return nil, err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	child := func(part string, args []string, onLine func(string)) (scaleChild, error) {
		r, err := runScaleChild(ctx, cfg.Executable, append([]string{part, "-url", srv.ClientURL()}, args...), onLine)
		if err != nil {
			return r, fmt.Errorf("scale %s: %w", part, err)
		}
		return r, nil
	}
	jobsArg := func(n int) []string {
		return []string{"-jobs", strconv.Itoa(n), "-concurrency", strconv.Itoa(cfg.Concurrency)}
	}
	purge := func() error {
		// The queue's consumer goes too: every queue's counts against the
		// stream's consumers (at most 1,000 on a server by default).
		if err := js.DeleteConsumer(ctx, layout.JobsStream, layout.ConsumerName(queue)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("delete the queue's consumer: %w", err)
		}
		for _, name := range []string{layout.JobsStream, resultsKV} {
			s, err := js.Stream(ctx, name)
			if err == nil {
				err = s.Purge(ctx)
			}
			if err != nil {
				return fmt.Errorf("purge %s: %w", name, err)
			}
		}
		return nil
	}

	fmt.Fprintf(out, "scale: %d jobs queued at once (against %d), %d queues on one worker, %d workers on one queue\n",
		cfg.Jobs, cfg.BaseJobs, cfg.Queues, cfg.Workers)
	// The burn-down size first, as the reference.
	r, err := child("enqueue", jobsArg(cfg.BaseJobs), nil)
	if err != nil {
		return nil, err
	}
	rep.BaseEnqueueSeconds = r.Seconds
	if r, err = child("work", jobsArg(cfg.BaseJobs), nil); err != nil {
		return nil, err
	}
	rep.BaseRate, rep.BaseWorkerRSS = r.Rate, r.RSSEnd
	fmt.Fprintf(out, "%d jobs: enqueued in %.1f s, worked off at %.0f jobs/s\n", cfg.BaseJobs, rep.BaseEnqueueSeconds, rep.BaseRate)
	if err := purge(); err != nil {
		return nil, err
	}

	if r, err = child("enqueue", jobsArg(cfg.Jobs), nil); err != nil {
		return nil, err
	}
	rep.EnqueueSeconds, rep.ProducerPeakRSS = r.Seconds, r.PeakRSS
	rep.ServerRSSQueued = currentRSS()
	if size, err := dirSize(dir, layout.JobsStream); err == nil {
		rep.DiskBytesPerJob = float64(size) / float64(cfg.Jobs)
	}
	fmt.Fprintf(out, "%d jobs: enqueued in %.1f s (producer peak RSS %.0f MB), server RSS %.0f MB, %.0f bytes on disk per job\n",
		cfg.Jobs, rep.EnqueueSeconds, mb(rep.ProducerPeakRSS), mb(rep.ServerRSSQueued), rep.DiskBytesPerJob)
	if r, err = child("work", jobsArg(cfg.Jobs), nil); err != nil {
		return nil, err
	}
	rep.Rate, rep.RateEarly, rep.RateLate = r.Rate, r.RateEarly, r.RateLate
	rep.WorkerRSSEarly, rep.WorkerRSSEnd, rep.WorkerPeakRSS = r.RSSEarly, r.RSSEnd, r.PeakRSS
	if rs, err := js.Stream(ctx, resultsKV); err == nil {
		rep.ServerResultsMsg, _ = streamMsgs(ctx, rs)
	}
	fmt.Fprintf(out, "%d jobs: worked off at %.0f jobs/s (first 50,000 %.0f, last %.0f), worker RSS %.0f MB after 50,000, %.0f MB at the end\n",
		cfg.Jobs, rep.Rate, rep.RateEarly, rep.RateLate, mb(rep.WorkerRSSEarly), mb(rep.WorkerRSSEnd))
	if err := purge(); err != nil {
		return nil, err
	}

	// At the worker's concurrency, then with a slot per queue.
	for _, conc := range []int{cfg.Concurrency, max(cfg.Concurrency, cfg.Queues)} {
		samples := cfg.Samples
		q, err := scaleQueuesPart(ctx, child, cfg, conc, samples)
		if err != nil {
			return nil, err
		}
		rep.QueuesRuns = append(rep.QueuesRuns, q)
		fmt.Fprintf(out, "%d queues, concurrency %d: idle CPU %.1f %% of a core (worker), %.1f %% (server); start latency p50 %.0f µs, p90 %.0f µs, max %.0f µs (%d jobs)\n",
			cfg.Queues, conc, 100*q.IdleWorkerCPU, 100*q.IdleServerCPU, q.LatencyP50, q.LatencyP90, q.LatencyMax, samples)
	}

	// Idle consumers slow every job of the stream (docs/benchmarks.md):
	// the many queues' go before the many workers are measured.
	for i := range cfg.Queues {
		if err := js.DeleteConsumer(ctx, layout.JobsStream, layout.ConsumerName(queueName(i))); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("delete the many queues' consumers: %w", err)
		}
	}
	if _, err = child("enqueue", jobsArg(cfg.WorkersJobs), nil); err != nil {
		return nil, err
	}
	args := append(jobsArg(cfg.WorkersJobs), "-workers", strconv.Itoa(cfg.Workers))
	if r, err = child("work", args, nil); err != nil {
		return nil, err
	}
	rep.WorkersRate, rep.Shares = r.Rate, r.Shares
	rep.ShareMin, rep.ShareMax, rep.ShareCV = spread(r.Shares)
	fmt.Fprintf(out, "%d workers: %.0f jobs/s, shares %d to %d jobs (CV %.2f)\n",
		cfg.Workers, rep.WorkersRate, rep.ShareMin, rep.ShareMax, rep.ShareCV)
	rep.ServerPeakRSS = ownPeakRSS()
	rep.ElapsedSeconds = time.Since(started).Seconds()
	rep.Load = append(rep.Load, loadAvg())
	return rep, nil
}

// QueuesRun is one run of a worker on many queues.
type QueuesRun struct {
	Concurrency   int     `json:"concurrency"`
	IdleWorkerCPU float64 `json:"idle_worker_cpu"` // fraction of a core
	IdleServerCPU float64 `json:"idle_server_cpu"`
	LatencyP50    float64 `json:"latency_p50_us"`
	LatencyP90    float64 `json:"latency_p90_us"`
	LatencyMax    float64 `json:"latency_max_us"`
	WorkerRSS     int64   `json:"worker_peak_rss_bytes"`
}

// scaleQueuesPart runs the many-queues child, measuring the server's CPU
// between its idle markers.
func scaleQueuesPart(ctx context.Context, child func(string, []string, func(string)) (scaleChild, error), cfg ScaleConfig, conc, samples int) (QueuesRun, error) {
	q := QueuesRun{Concurrency: conc}
	var cpu0 time.Duration
	var t0 time.Time
	args := []string{"-queues", strconv.Itoa(cfg.Queues), "-concurrency", strconv.Itoa(conc), "-idle", cfg.Idle.String(), "-samples", strconv.Itoa(samples)}
	r, err := child("queues", args, func(line string) {
		switch line {
		case "idle-begin":
			cpu0, t0 = cpuTime(), time.Now()
		case "idle-end":
			q.IdleServerCPU = float64(cpuTime()-cpu0) / float64(time.Since(t0))
		}
	})
	if err != nil {
		return q, err
	}
	q.IdleWorkerCPU, q.WorkerRSS = r.IdleCPU, r.PeakRSS
	q.LatencyP50, q.LatencyP90, q.LatencyMax = quantile(r.Latencies, 0.5), quantile(r.Latencies, 0.9), quantile(r.Latencies, 1)
	return q, nil
}

// runScaleChild starts exe with ScaleChildArg and args, hands every line of
// its output but the last to onLine, and decodes the last.
func runScaleChild(ctx context.Context, exe string, args []string, onLine func(string)) (scaleChild, error) {
	cmd := exec.CommandContext(ctx, exe, append([]string{ScaleChildArg}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return scaleChild{}, err
	}
	if err := cmd.Start(); err != nil {
		return scaleChild{}, err
	}
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if last != "" && onLine != nil {
			onLine(last)
		}
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		return scaleChild{}, fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r scaleChild
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return r, fmt.Errorf("child's report %q: %w", last, err)
	}
	return r, nil
}

// dirSize sums the files under every directory named name below root.
func dirSize(root, name string) (int64, error) {
	var size int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(filepath.ToSlash(path), "/"+name+"/") {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	return size, err
}

// spread is the least and most of shares and their coefficient of variation.
func spread(shares []int64) (lo, hi int64, cv float64) {
	if len(shares) == 0 {
		return 0, 0, 0
	}
	lo, hi = shares[0], shares[0]
	var sum float64
	for _, s := range shares {
		lo, hi, sum = min(lo, s), max(hi, s), sum+float64(s)
	}
	mean := sum / float64(len(shares))
	var v float64
	for _, s := range shares {
		v += (float64(s) - mean) * (float64(s) - mean)
	}
	if mean == 0 {
		return lo, hi, 0
	}
	return lo, hi, math.Sqrt(v/float64(len(shares))) / mean
}

// quantile of sorted xs (q = 1: the largest).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}
