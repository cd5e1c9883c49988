package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"
)

// ChildArg, as the first argument of a program that runs the benchmark,
// makes it a memory child: RunChild runs one scenario in it. A scenario's
// peak resident memory is that of a whole process, so each is measured in a
// process of its own, started fresh for it.
const ChildArg = "-memory-child"

// MemoryLine is one line of the memory report: the peak resident memory of
// a process running one naq scenario against one running its raw baseline.
// On the embedded server a process holds the server and the clients
// together; with -url it holds the clients (and worker) only.
type MemoryLine struct {
	Name     string  `json:"name"`
	Baseline string  `json:"baseline"`
	Jobs     int     `json:"jobs"`
	RSS      int64   `json:"peak_rss_bytes"`
	RawRSS   int64   `json:"raw_peak_rss_bytes"`
	Ratio    float64 `json:"ratio"`  // RSS / RawRSS
	Target   float64 `json:"target"` // the most Ratio may be; 0: none
	OK       bool    `json:"ok"`
	// Heap and RawHeap are the peak of the Go heap's objects (live and not
	// yet swept), sampled every 5 ms; Alloc and RawAlloc the bytes allocated
	// per job during the timed part.
	Heap     int64   `json:"peak_heap_bytes"`
	RawHeap  int64   `json:"raw_peak_heap_bytes"`
	Alloc    float64 `json:"alloc_bytes_per_job"`
	RawAlloc float64 `json:"raw_alloc_bytes_per_job"`
}

// memoryDefs are the memory report's lines: scenario, its baseline's child,
// and the target.
var memoryDefs = []struct {
	name, raw string
	target    float64
}{
	{Enqueue, rawPrefix + Enqueue, 0},
	{EnqueueFloor, rawPrefix + Enqueue, 0},
	{Bulk, rawPrefix + Bulk, 2},
	{BulkAtomic, rawPrefix + Bulk, 0},
	{BulkFloor, rawPrefix + Bulk, 0},
	{Process, rawPrefix + Process, 1.5},
	{ProcessFloor, rawPrefix + Process, 0},
}

// rawPrefix names the children running a raw baseline.
const rawPrefix = "raw-"

// childScenario is what a memory child runs: fill, done beforehand in the
// parent, puts what the scenario consumes in the store; run is timed and
// measured in the child.
type childScenario struct {
	fill func(*env, context.Context) error
	run  func(*env, context.Context) (run, error)
}

var childScenarios = map[string]childScenario{
	rawPrefix + Enqueue: {run: func(e *env, ctx context.Context) (run, error) { return e.enqueueSide(ctx, 0) }},
	EnqueueFloor:        {run: func(e *env, ctx context.Context) (run, error) { return e.enqueueSide(ctx, 1) }},
	Enqueue:             {run: func(e *env, ctx context.Context) (run, error) { return e.enqueueSide(ctx, 2) }},
	rawPrefix + Bulk:    {run: (*env).rawPublishAsync},
	Bulk:                {run: (*env).naqEnqueueMany},
	BulkAtomic:          {run: (*env).naqEnqueueAtomic},
	BulkFloor:           {run: (*env).floorBulk},
	rawPrefix + Process: {fill: (*env).fillRaw, run: (*env).rawConsume},
	Process:             {fill: (*env).fillJobs, run: (*env).naqProcess},
	ProcessFloor:        {fill: (*env).fillFloor, run: (*env).floorProcess},
}

// fillJobs enqueues the N jobs naqProcess works off.
func (e *env) fillJobs(ctx context.Context) error {
	_, err := e.naqEnqueueMany(ctx)
	return err
}

// childReport is what a memory child prints on its standard output.
type childReport struct {
	Scenario string  `json:"scenario"`
	Seconds  float64 `json:"seconds"`
	Heap     int64   `json:"peak_heap_bytes"`
	Alloc    float64 `json:"alloc_bytes_per_job"`
	// RSS is the child's own peak resident memory where the system gives
	// it (Linux), else 0 and the parent reads the child's rusage.
	RSS int64 `json:"peak_rss_bytes"`
}

// measureMemory runs every memory child, one at a time, and returns the
// report's memory lines. exe is the program to start with ChildArg.
func measureMemory(ctx context.Context, cfg Config, out io.Writer) ([]MemoryLine, error) {
	got := map[string]childReport{}
	for _, d := range memoryDefs {
		for _, name := range []string{d.raw, d.name} {
			if _, done := got[name]; done {
				continue
			}
			r, err := runChild(ctx, cfg, name)
			if err != nil {
				return nil, fmt.Errorf("memory of %s: %w", name, err)
			}
			fmt.Fprintf(out, "memory %s: peak RSS %.1f MB, peak heap %.1f MB\n", name, mb(r.RSS), mb(r.Heap))
			got[name] = r
		}
	}
	lines := make([]MemoryLine, 0, len(memoryDefs))
	for _, d := range memoryDefs {
		n, r := got[d.name], got[d.raw]
		l := MemoryLine{Name: d.name, Baseline: d.raw, Jobs: cfg.Jobs, RSS: n.RSS, RawRSS: r.RSS, Target: d.target,
			Heap: n.Heap, RawHeap: r.Heap, Alloc: n.Alloc, RawAlloc: r.Alloc}
		if r.RSS > 0 {
			l.Ratio = float64(n.RSS) / float64(r.RSS)
		}
		l.OK = d.target == 0 || l.Ratio <= d.target
		lines = append(lines, l)
	}
	return lines, nil
}

// runChild fills a store for the scenario (a fresh directory on the embedded
// server; the emptied streams of cfg.URL otherwise), then runs it in a child
// process and reads the child's peak resident memory.
func runChild(ctx context.Context, cfg Config, name string) (childReport, error) {
	sc := childScenarios[name]
	c := cfg
	if c.URL == "" {
		dir, err := os.MkdirTemp("", "naqbench-mem-")
		if err != nil {
			return childReport{}, err
		}
		defer os.RemoveAll(dir)
		c.Dir = dir
	}
	if err := fillStore(ctx, c, sc.fill); err != nil {
		return childReport{}, fmt.Errorf("fill: %w", err)
	}
	args := []string{ChildArg, name, "-jobs", strconv.Itoa(c.Jobs), "-concurrency", strconv.Itoa(c.Concurrency)}
	if c.URL != "" {
		args = append(args, "-url", c.URL)
	} else {
		args = append(args, "-dir", c.Dir)
	}
	cmd := exec.CommandContext(ctx, cfg.Executable, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return childReport{}, fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r childReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return childReport{}, fmt.Errorf("child's report %q: %w", stdout.Bytes(), err)
	}
	if r.RSS == 0 {
		r.RSS = maxRSS(cmd.ProcessState)
	}
	return r, nil
}

// fillStore empties naq's and the raw streams (a server of cfg.URL keeps them
// between children) and runs fill, if any, on a connection of its own.
func fillStore(ctx context.Context, cfg Config, fill func(*env, context.Context) error) error {
	conns, _, closeAll, err := connect(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer closeAll()
	e, err := newEnv(ctx, cfg, conns[0], conns[1], conns[2])
	if err != nil {
		return err
	}
	defer e.client.Close()
	for _, s := range []jetstream.Stream{e.raw, e.jobs, e.results} {
		if err := s.Purge(ctx); err != nil {
			return err
		}
	}
	if fill == nil {
		return nil
	}
	return fill(e, ctx)
}

// WriteMemoryTable prints the memory lines as a table.
func (r *Report) WriteMemoryTable(out io.Writer) {
	if len(r.Memory) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "memory\tjobs\tpeak RSS MB\traw peak RSS MB\tratio\ttarget\tok?\tpeak heap MB\traw peak heap MB\talloc B/job\traw alloc B/job\t")
	for _, l := range r.Memory {
		target, ok := "-", "-"
		if l.Target > 0 {
			target, ok = fmt.Sprintf("<= %.1f", l.Target), "no"
			if l.OK {
				ok = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.2f\t%s\t%s\t%.1f\t%.1f\t%.0f\t%.0f\t\n", l.Name, l.Jobs, mb(l.RSS), mb(l.RawRSS),
			l.Ratio, target, ok, mb(l.Heap), mb(l.RawHeap), l.Alloc, l.RawAlloc)
	}
	tw.Flush()
	where := "server and clients in one process"
	if r.Server != embeddedServer {
		where = "clients only: the server runs in its own process"
	}
	fmt.Fprintf(out, "(each scenario in a fresh process of its own, %s)\n", where)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
