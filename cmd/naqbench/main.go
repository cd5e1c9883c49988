// Command naqbench runs naq's burn-down benchmark on an embedded server (or,
// with -url, on a server of its own): N no-op jobs are enqueued, then worked
// off, and every naq rate is set beside the bare JetStream rate measured in
// the same run. See docs/benchmarks.md.
//
//	go run ./cmd/naqbench -jobs 50000 -rounds 5
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/naqgo/naq/internal/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "naqbench:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == bench.ChildArg {
		// A scenario run in a process of its own, for its peak memory.
		return bench.RunChild(context.Background(), os.Args[2:], os.Stdout)
	}
	if len(os.Args) > 1 && os.Args[1] == bench.ScaleChildArg {
		// A producer or worker of the scale scenario.
		return bench.RunScaleChild(context.Background(), os.Args[2:], os.Stdout)
	}
	var cfg bench.Config
	flag.IntVar(&cfg.Jobs, "jobs", 10000, "jobs per scenario run")
	flag.IntVar(&cfg.Concurrency, "concurrency", bench.DefaultConcurrency, "worker concurrency of the processing scenario")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "rounds; the report gives the median")
	flag.StringVar(&cfg.Dir, "dir", "", "store directory of the embedded server (default: a temporary one)")
	flag.StringVar(&cfg.URL, "url", "", "run against this server instead of an embedded one (a server of its own, with no naq data: the benchmark purges naq's streams)")
	asJSON := flag.Bool("json", false, "print the report as JSON on stdout (the table goes to stderr)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	var sc bench.ScaleConfig
	scale := flag.Bool("scale", false, "run the scale scenario instead: many queued jobs, many queues, many workers (see docs/benchmarks.md)")
	flag.IntVar(&sc.Jobs, "scale-jobs", 1000000, "with -scale: jobs queued at once")
	flag.IntVar(&sc.Queues, "scale-queues", 1000, "with -scale: queues on one worker")
	flag.IntVar(&sc.Workers, "scale-workers", 20, "with -scale: workers on one queue")
	flag.IntVar(&sc.Samples, "scale-samples", 100, "with -scale: jobs timed from enqueue to start on random queues")
	cluster := flag.Bool("cluster", false, "compare one node with a three-node in-process cluster at one and three replicas instead (see docs/scaling.md)")
	memory := flag.Bool("memory", true, "also run every scenario once in a process of its own and report its peak memory")
	flag.Parse()
	if *memory {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this program to run the memory scenarios: %w", err)
		}
		cfg.Executable = exe
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out io.Writer = os.Stdout
	if *asJSON {
		out = os.Stderr
	}
	if *cluster {
		lines, err := bench.RunCluster(ctx, cfg, out)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(os.Stdout).Encode(lines)
		}
		return nil
	}
	if *scale {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		sc.Executable, sc.Dir, sc.Concurrency, sc.BaseJobs = exe, cfg.Dir, cfg.Concurrency, cfg.Jobs
		rep, err := bench.RunScale(ctx, sc, out)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		return nil
	}
	rep, err := bench.Run(ctx, cfg, out)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}
