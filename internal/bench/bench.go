// Package bench is naq's burn-down benchmark: it enqueues N no-op jobs, then
// works them off, and sets each naq rate beside the rate of the bare JetStream
// operation underneath it, measured on the same embedded server in the same
// run.
//
// Scenarios, each repeated Config.Rounds times with raw and naq runs
// interleaved inside every round (the reported figure is the median):
//
//   - enqueue: Client.Enqueue one job at a time, each acknowledged, against a
//     bare synchronous js.Publish of the same payload size, the two (and the
//     enqueue floor) taking turns of 500 messages, as a latency-bound loop
//     drifts with the machine within seconds;
//   - bulk: one Client.EnqueueMany call for all N jobs (pipelined mode),
//     against bare js.PublishAsync of N messages then waiting for every ack;
//   - bulk-atomic: EnqueueMany with naq.AllOrNothing in batches of
//     naq.MaxAtomicBatch, against the same PublishAsync baseline (no target);
//   - process: a worker.Worker with a no-op handler working off N queued jobs,
//     timed from the worker's start until the queue is empty and all N results
//     are stored, against a bare Consume() (default options) + Ack() of N
//     messages, timed until its stream is empty;
//   - process-observed: process again, on jobs enqueued with trace context,
//     by a worker with events, metrics and tracing on (a tracer provider
//     with no exporter, a registry nobody scrapes), against the process line
//     of the same round.
//
// The raw runs use their own stream, configured as naq_jobs is, so the two
// never share state.
package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"
)

// DefaultConcurrency is the worker concurrency of the processing scenario. For
// no-op jobs on a small machine the rate is flat from about 100 to 500 slots;
// 200 was the best or tied of 50, 100, 200, 500 and 1,000 on a 2-core machine.
const DefaultConcurrency = 200

// Config selects the size of a benchmark run. Zero fields take the defaults.
type Config struct {
	// Jobs is N, the number of jobs (and raw messages) of each scenario run
	// (default 10,000).
	Jobs int
	// Concurrency is the worker's concurrency in the processing scenario
	// (default DefaultConcurrency).
	Concurrency int
	// Rounds is how many times every scenario runs; the report gives the
	// median of the rounds (default 3).
	Rounds int
	// Dir is where the embedded server keeps its store (default: a new
	// temporary directory, removed afterwards).
	Dir string
	// URL, when set, runs the benchmark against that server instead of an
	// embedded one: a server with no naq streams yet, since the benchmark
	// purges them. The CPU columns then count this process only.
	URL string
	// Executable, when set, is a program that runs RunChild when started
	// with ChildArg (naqbench itself): every scenario then runs once more in
	// a fresh child process of its own, for the report's peak memory.
	Executable string
}

func (c Config) withDefaults() Config {
	if c.Jobs <= 0 {
		c.Jobs = 10000
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	return c
}

// Scenario names, the keys of Report.Scenarios.
const (
	Enqueue    = "enqueue"
	Bulk       = "bulk"
	BulkAtomic = "bulk-atomic"
	Process    = "process"
	// ProcessObserved is process with events, metrics and tracing on; its
	// baseline is the process line of the same round.
	ProcessObserved = "process-observed"
)

// Scenario is one line of the report: a naq operation and its raw baseline.
type Scenario struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Baseline    string    `json:"baseline"`
	Jobs        int       `json:"jobs"`
	Seconds     float64   `json:"seconds"`  // median duration of a naq run
	Rate        float64   `json:"rate"`     // median naq jobs/s
	RawRate     float64   `json:"raw_rate"` // median raw messages/s
	Ratio       float64   `json:"ratio"`    // median over rounds of naq rate / raw rate
	Target      float64   `json:"target"`   // minimum ratio; 0: none
	OK          bool      `json:"ok"`       // Ratio >= Target
	Rates       []float64 `json:"rates"`    // naq jobs/s of every round
	RawRates    []float64 `json:"raw_rates"`
	// CPU and RawCPU are the median CPU time of the whole process (server
	// and clients) per job, in microseconds: unlike the rates, they hardly
	// move when other programs load the machine.
	CPU    float64 `json:"cpu_us_per_job"`
	RawCPU float64 `json:"raw_cpu_us_per_job"`
}

// Report is the outcome of Run.
type Report struct {
	Jobs         int        `json:"jobs"`
	Concurrency  int        `json:"concurrency"`
	Rounds       int        `json:"rounds"`
	PayloadBytes int        `json:"payload_bytes"`
	Aggregate    string     `json:"aggregate"`
	GoVersion    string     `json:"go_version"`
	OS           string     `json:"os"`
	Arch         string     `json:"arch"`
	CPUs         int        `json:"cpus"`
	Started      time.Time  `json:"started"`
	Elapsed      float64    `json:"elapsed_seconds"`
	Scenarios    []Scenario `json:"scenarios"`
	// Server is "embedded", or the URL (without credentials) of the server
	// the benchmark ran against.
	Server string `json:"server"`
	// Processed counts the jobs the workers took off the queue over all
	// rounds, Results the results they stored; both are Jobs × Rounds after a
	// complete run.
	Processed int64 `json:"processed"`
	Results   int64 `json:"results"`
	// Memory gives each scenario's peak memory, measured in a process of its
	// own (with Config.Executable set).
	Memory []MemoryLine `json:"memory,omitempty"`
}

// Scenario returns the scenario named name, or nil.
func (r *Report) Scenario(name string) *Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// scenarioDefs gives the order, descriptions and targets of the scenarios.
var scenarioDefs = []Scenario{
	{Name: Enqueue, Description: "Client.Enqueue, one at a time, acked", Baseline: "js.Publish (sync)", Target: 0.80},
	{Name: Bulk, Description: "Client.EnqueueMany (pipelined)", Baseline: "js.PublishAsync + wait all", Target: 0.60},
	{Name: BulkAtomic, Description: "Client.EnqueueMany (AllOrNothing)", Baseline: "js.PublishAsync + wait all"},
	{Name: Process, Description: "worker.Worker, no-op handler", Baseline: "Consume() + Ack()", Target: 0.50},
	{Name: ProcessObserved, Description: "process with events, Prometheus metrics and OpenTelemetry tracing on (no exporter attached)",
		Baseline: "process (naq, same round)", Target: 0.90},
	{Name: EnqueueFloor, Description: "bare js.Publish with Nats-Msg-Id (the floor of an idempotent enqueue)", Baseline: "js.Publish (sync)"},
	{Name: BulkFloor, Description: "bare js.PublishAsync with Nats-Msg-Id (the floor of an idempotent bulk enqueue)", Baseline: "js.PublishAsync + wait all"},
	{Name: ProcessFloor, Description: "bare Consume() + one stored write per message before its Ack (the floor of result-before-ack)", Baseline: "Consume() + Ack()"},
}

// Run starts an embedded server in its own directory, runs every scenario
// cfg.Rounds times, writes progress and a table to out (nil: nowhere) and
// returns the report.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Report, error) {
	cfg = cfg.withDefaults()
	if out == nil {
		out = io.Discard
	}
	conns, server, closeAll, err := connect(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	e, err := newEnv(ctx, cfg, conns[0], conns[1], conns[2])
	if err != nil {
		return nil, err
	}

	rep := &Report{
		Jobs: cfg.Jobs, Concurrency: cfg.Concurrency, Rounds: cfg.Rounds, PayloadBytes: len(e.payload),
		Aggregate: "median", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Started: time.Now().UTC(), Server: server,
	}
	fmt.Fprintf(out, "naq burn-down benchmark: %d jobs, %d rounds, worker concurrency %d, payload %d bytes, %s/%s, %d CPUs\n",
		cfg.Jobs, cfg.Rounds, cfg.Concurrency, len(e.payload), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	naqRuns := map[string][]run{}
	rawRuns := map[string][]run{}
	for round := 1; round <= cfg.Rounds; round++ {
		res, err := e.round(ctx, round%2 == 1)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		fmt.Fprintf(out, "round %d/%d:", round, cfg.Rounds)
		for _, d := range scenarioDefs {
			n, r := res.naq[d.Name], res.raw[d.Name]
			naqRuns[d.Name] = append(naqRuns[d.Name], n)
			rawRuns[d.Name] = append(rawRuns[d.Name], r)
			fmt.Fprintf(out, "  %s %.0f/s (raw %.0f/s)", d.Name, n.rate(), r.rate())
		}
		fmt.Fprintln(out)
		rep.Processed += res.processed
		rep.Results += res.results
	}
	for _, d := range scenarioDefs {
		s := d
		s.Jobs = cfg.Jobs
		var cpu, rawCPU, ratios []float64
		for i, r := range naqRuns[d.Name] {
			raw := rawRuns[d.Name][i]
			s.Rates, cpu = append(s.Rates, r.rate()), append(cpu, r.cpuPerJob())
			s.RawRates, rawCPU = append(s.RawRates, raw.rate()), append(rawCPU, raw.cpuPerJob())
			if raw.rate() > 0 {
				ratios = append(ratios, r.rate()/raw.rate())
			}
		}
		s.Rate, s.RawRate = median(s.Rates), median(s.RawRates)
		s.CPU, s.RawCPU = median(cpu), median(rawCPU)
		s.Seconds = float64(cfg.Jobs) / s.Rate
		// Each round's pair ran side by side: the ratio is taken within a
		// round, then the median over rounds, so one round's fast or slow
		// machine does not set one side's median against the other's.
		s.Ratio = median(ratios)
		s.OK = s.Ratio >= s.Target
		rep.Scenarios = append(rep.Scenarios, s)
	}
	if cfg.Executable != "" {
		if rep.Memory, err = measureMemory(ctx, cfg, out); err != nil {
			return nil, err
		}
	}
	rep.Elapsed = time.Since(rep.Started).Seconds()
	rep.WriteTable(out)
	rep.WriteMemoryTable(out)
	return rep, nil
}

// WriteTable prints the report as a table.
func (r *Report) WriteTable(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tjobs\tseconds\tjobs/s\traw jobs/s\tratio\ttarget\tok?\tcpu µs/job\traw cpu µs/job\t")
	for _, s := range r.Scenarios {
		target, ok := "-", "-"
		if s.Target > 0 {
			target, ok = fmt.Sprintf(">= %.2f", s.Target), "no"
			if s.OK {
				ok = "yes"
			}
		}
		// Three decimals: 0.797 printed as 0.80 beside "no" reads as a
		// contradiction.
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.0f\t%.3f\t%s\t%s\t%.0f\t%.0f\t\n",
			s.Name, s.Jobs, s.Seconds, s.Rate, s.RawRate, s.Ratio, target, ok, s.CPU, s.RawCPU)
	}
	tw.Flush()
	fmt.Fprintf(out, "(%s of %d rounds; processed %d jobs, %d results stored; %.1f s in all)\n",
		r.Aggregate, r.Rounds, r.Processed, r.Results, r.Elapsed)
	if r.Server != "" && r.Server != embeddedServer {
		fmt.Fprintf(out, "(server %s, in its own process: the CPU columns count this process only)\n", r.Server)
	}
}

// run is one timed run of a scenario: n jobs in d, using cpu of CPU time.
type run struct {
	n   int
	d   time.Duration
	cpu time.Duration
}

type timer struct {
	start time.Time
	cpu   time.Duration
}

func startTimer() timer { return timer{time.Now(), cpuTime()} }

func (t timer) stop(n int) run { return run{n, time.Since(t.start), cpuTime() - t.cpu} }

// cpuPerJob is the CPU time of the whole process per job, in microseconds.
func (r run) cpuPerJob() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.n)
}

func (r run) rate() float64 {
	if r.d <= 0 {
		return 0
	}
	return float64(r.n) / r.d.Seconds()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
