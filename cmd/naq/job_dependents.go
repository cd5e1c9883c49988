package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) jobDependentsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dependents ID",
		Short: "List the jobs that wait for this one (depends_on)",
		Long: `List the jobs that name this one in their depends_on, with the state of each
("pending": no worker has picked it up yet). A job a naq-go producer enqueued is
listed from its enqueue on; one Python naq enqueued, once a naq-go worker has
found it waiting. The steps of a workflow are listed by 'naq workflow show'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
				rctx, cancel := a.withTimeout(ctx)
				defer cancel()
				ds, err := c.Dependents(rctx, args[0])
				if err != nil {
					return jobError(args[0], err)
				}
				if ds == nil {
					ds = []naq.Dependent{} // [] in JSON, not null
				}
				return a.show(ds, func() error {
					if len(ds) == 0 {
						return a.showLine(nil, "no job waits for %s", args[0])
					}
					rows := make([][]string, len(ds))
					for i, d := range ds {
						rows[i] = []string{d.JobID, d.Name, stateOrUnknown(d.State)}
					}
					return a.printTable([]string{"JOB ID", "FUNCTION", "STATE"}, rows)
				})
			})
		},
	}
}

// stateOrUnknown names a state that could not be read.
func stateOrUnknown(s naq.State) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}
