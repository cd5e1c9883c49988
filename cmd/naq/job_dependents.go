package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

// dependentRow is one line of 'naq job dependents'.
type dependentRow struct {
	JobID    string `json:"job_id"`
	Function string `json:"function"`
	State    string `json:"state"`
}

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
				rows := make([]dependentRow, 0, len(ds))
				for _, d := range ds {
					row := dependentRow{JobID: d.JobID, Function: d.Name, State: "unknown"}
					st, err := c.Status(rctx, d.JobID)
					switch {
					case err == nil:
						row.State = string(st.State)
					case errors.Is(err, naq.ErrJobNotFound):
						row.State = "pending"
					}
					rows = append(rows, row)
				}
				return a.show(rows, func() error {
					if len(rows) == 0 {
						return a.showLine(nil, "no job waits for %s", args[0])
					}
					table := make([][]string, len(rows))
					for i, r := range rows {
						table[i] = []string{r.JobID, r.Function, r.State}
					}
					return a.printTable([]string{"JOB ID", "FUNCTION", "STATE"}, table)
				})
			})
		},
	}
}
