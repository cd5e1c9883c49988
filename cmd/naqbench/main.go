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
	var cfg bench.Config
	flag.IntVar(&cfg.Jobs, "jobs", 10000, "jobs per scenario run")
	flag.IntVar(&cfg.Concurrency, "concurrency", bench.DefaultConcurrency, "worker concurrency of the processing scenario")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "rounds; the report gives the median")
	flag.StringVar(&cfg.Dir, "dir", "", "store directory of the embedded server (default: a temporary one)")
	flag.StringVar(&cfg.URL, "url", "", "run against this server instead of an embedded one (a server of its own, with no naq data: the benchmark purges naq's streams)")
	asJSON := flag.Bool("json", false, "print the report as JSON on stdout (the table goes to stderr)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()

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
