package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq/internal/bench"
)

func (a *app) benchCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "bench [-jobs N] [--concurrency N] [--rounds N] [--dir DIR] [--json]",
		Short: "Run the burn-down benchmark on an embedded server",
		Long: `Runs naq's burn-down benchmark on its own embedded server (no --url needed): N no-op
jobs are enqueued, one at a time and in bulk, then worked off, and every rate is
set beside the bare JetStream rate measured in the same run. Flags take one dash
or two (-jobs 200, --jobs 200). With --json the report goes to stdout as JSON,
progress and the table to stderr.`,
		// Flags are read here, with Go's flag package, so that -jobs works.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg bench.Config
			fs := flag.NewFlagSet("naq bench", flag.ContinueOnError)
			fs.SetOutput(a.stderr)
			fs.Usage = func() {
				fmt.Fprintf(fs.Output(), "Usage:\n  naq %s\n\n%s\n\nFlags:\n", cmd.Use, cmd.Long)
				fs.PrintDefaults()
			}
			fs.IntVar(&cfg.Jobs, "jobs", 10000, "jobs per scenario run")
			fs.IntVar(&cfg.Concurrency, "concurrency", bench.DefaultConcurrency, "worker concurrency of the processing scenario")
			fs.IntVar(&cfg.Rounds, "rounds", 3, "rounds; the report gives the median")
			fs.StringVar(&cfg.Dir, "dir", "", "store directory of the embedded server (default: a temporary one)")
			fs.BoolVar(&a.jsonOut, "json", a.jsonOut, "print the report as JSON on stdout")
			fs.StringVar(&a.logLevel, "log-level", a.logLevel, "log level (unused)")
			if err := fs.Parse(args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return nil
				}
				return usagef("bench: %v", err)
			}
			if fs.NArg() > 0 {
				return usagef("bench: unexpected argument %q", fs.Arg(0))
			}
			if cfg.Jobs < 1 || cfg.Concurrency < 1 || cfg.Rounds < 1 {
				return usagef("bench: -jobs, --concurrency and --rounds must be at least 1")
			}
			var out io.Writer = a.stdout
			if a.jsonOut {
				out = a.stderr
			}
			rep, err := bench.Run(cmd.Context(), cfg, out)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			return nil
		},
	}
}
