package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq/internal/bench"
)

func (a *app) benchCommand() *cobra.Command {
	var cfg bench.Config
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the burn-down benchmark on an embedded server",
		Long: `Runs naq's burn-down benchmark on its own embedded server (no --url needed): N no-op
jobs are enqueued, one at a time and in bulk, then worked off, and every rate is
set beside the bare JetStream rate measured in the same run. With --json the
report goes to stdout as JSON, progress and the table to stderr.`,
		Example: `  naq bench --jobs 20000 --rounds 5
  naq bench --json > report.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Jobs < 1 || cfg.Concurrency < 1 || cfg.Rounds < 1 {
				return usagef("bench: --jobs, --concurrency and --rounds must be at least 1")
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
	fl := cmd.Flags()
	fl.IntVar(&cfg.Jobs, "jobs", 10000, "jobs per scenario run")
	fl.IntVar(&cfg.Concurrency, "concurrency", bench.DefaultConcurrency, "worker concurrency of the processing scenario")
	fl.IntVar(&cfg.Rounds, "rounds", 3, "rounds; the report gives the median")
	fl.StringVar(&cfg.Dir, "dir", "", "store directory of the embedded server (default: a temporary one)")
	return cmd
}
