package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

// workerView is a worker record as --json prints it.
type workerView struct {
	naq.WorkerInfo
	Stale bool `json:"stale"`
}

func (a *app) workersCommand() *cobra.Command {
	var byQueue bool
	cmd := &cobra.Command{
		Use:   "workers",
		Short: "List running workers from their heartbeats",
		Long: `Lists the workers' heartbeat records (naq_workers bucket). STALE marks a worker
whose last heartbeat is more than two heartbeat intervals old: it probably died;
its record expires after three intervals.

--by-queue prints one line per worker and queue instead: jobs processed (final
record stored), failed for good, retries scheduled since the worker started, and
jobs running now. --json prints the records, these counts under queue_stats.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				ws, err := c.ListWorkers(ctx)
				if err != nil {
					return err
				}
				views := make([]workerView, 0, len(ws))
				rows := make([][]string, 0, len(ws))
				for _, w := range ws {
					views = append(views, workerView{WorkerInfo: w, Stale: w.Stale})
					stale := "no"
					if w.Stale {
						stale = "yes"
					}
					queues, processed, failed := strings.Join(w.Queues, ","), fmt.Sprint(w.Processed), fmt.Sprint(w.Failed)
					if w.Foreign { // a Python naq worker's record says none of these
						queues, processed, failed = "(python)", "-", "-"
					}
					rows = append(rows, []string{w.ID, string(w.State), queues, runningJobs(w.RunningJobs),
						processed, failed, ago(w.LastHeartbeat), stale})
				}
				return a.show(views, func() error {
					if len(ws) == 0 {
						_, err := fmt.Fprintln(a.stdout, "no workers")
						return err
					}
					if byQueue {
						return a.printTable([]string{"ID", "QUEUE", "PROCESSED", "FAILED", "RETRIED", "IN FLIGHT", "STALE"}, queueRows(ws))
					}
					return a.printTable([]string{"ID", "STATE", "QUEUES", "RUNNING JOBS", "PROCESSED", "FAILED", "LAST HEARTBEAT", "STALE"}, rows)
				})
			})
		},
	}
	cmd.Flags().BoolVar(&byQueue, "by-queue", false, "one line per worker and queue, with its counts")
	return cmd
}

// queueRows are the --by-queue lines: each worker's queues in the order it
// names them. A Python naq worker's record has no counts.
func queueRows(ws []naq.WorkerInfo) [][]string {
	var rows [][]string
	for _, w := range ws {
		stale := "no"
		if w.Stale {
			stale = "yes"
		}
		if w.Foreign {
			rows = append(rows, []string{w.ID, "(python)", "-", "-", "-", "-", stale})
			continue
		}
		for _, q := range w.Queues {
			c := w.QueueStats[q]
			rows = append(rows, []string{w.ID, q, fmt.Sprint(c.Processed), fmt.Sprint(c.Failed), fmt.Sprint(c.Retried),
				fmt.Sprint(c.InFlight), stale})
		}
	}
	return rows
}

// runningJobs is the count and the first few ids.
func runningJobs(ids []string) string {
	if len(ids) == 0 {
		return "0"
	}
	const show = 3
	s := strings.Join(ids[:min(show, len(ids))], ",")
	if len(ids) > show {
		s += ",…"
	}
	return fmt.Sprintf("%d (%s)", len(ids), s)
}
