package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

func (a *app) queueCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, inspect, purge, pause, resume and delete queues",
		Long: `Queues are subjects naq.queue.<queue> of the naq_jobs stream, each worked by the
shared consumer naq-worker-<queue>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.queueListCommand(), a.queueStatsCommand(), a.queuePurgeCommand(),
		a.queuePauseCommand(), a.queueResumeCommand(), a.queueDeleteCommand())
	return cmd
}

func (a *app) queueListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the queues that have jobs or a consumer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				qs, err := c.Queues(ctx)
				if err != nil {
					return err
				}
				return a.show(qs, func() error {
					if len(qs) == 0 {
						_, err := fmt.Fprintln(a.stdout, "no queues")
						return err
					}
					rows := make([][]string, 0, len(qs))
					for _, q := range qs {
						rows = append(rows, []string{q.Queue, fmt.Sprint(q.Messages), fmt.Sprint(q.Pending),
							fmt.Sprint(q.Running), fmt.Sprint(q.WaitingPulls), queueState(&q)})
					}
					return a.printTable([]string{"QUEUE", "MESSAGES", "PENDING", "RUNNING", "WAITING PULLS", "STATE"}, rows)
				})
			})
		},
	}
}

func (a *app) queueStatsCommand() *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "stats [QUEUE...]",
		Short: "Pending, running and redelivered jobs of queues, and their rate",
		Long: `Shows, for each queue (default: every known queue), the jobs waiting (pending), the
jobs delivered to a worker and not yet answered (running), the redelivered ones,
the workers with a fresh heartbeat on the queue, the waiting pulls, and a rate:
the consumer is sampled twice, --interval apart, and the rate is the deliveries
answered in between per second (0s: no rate).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval < 0 {
				return usagef("--interval must not be negative")
			}
			for _, q := range args {
				if err := layout.ValidateQueue(q); err != nil {
					return usagef("%v", err)
				}
			}
			return a.clientDo(cmd, interval, func(ctx context.Context, c *naq.Client) error {
				qs, err := c.QueueStats(ctx, args, interval)
				if err != nil {
					return err
				}
				return a.show(qs, func() error { return a.printQueueStats(qs) })
			})
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between the two samples of the rate (0: no rate)")
	return cmd
}

func (a *app) printQueueStats(qs []naq.QueueInfo) error {
	if len(qs) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no queues")
		return err
	}
	rows := make([][]string, 0, len(qs))
	for _, q := range qs {
		rate, workers := "-", "-"
		if q.Rate != nil {
			rate = fmt.Sprintf("%.1f/s", *q.Rate)
		}
		if q.Workers != nil {
			workers = fmt.Sprint(*q.Workers)
		}
		rows = append(rows, []string{q.Queue, fmt.Sprint(q.Pending), fmt.Sprint(q.Running), fmt.Sprint(q.Redelivered),
			workers, fmt.Sprint(q.WaitingPulls), rate, queueState(&q)})
	}
	return a.printTable([]string{"QUEUE", "PENDING", "RUNNING", "REDELIVERED", "WORKERS", "WAITING PULLS", "RATE", "STATE"}, rows)
}

// queueState says whether workers take the queue's jobs.
func queueState(q *naq.QueueInfo) string {
	switch {
	case !q.Consumer:
		return "no consumer"
	case q.PausedIndefinitely():
		return "paused"
	case q.Paused:
		return "paused until " + fmtTime(*q.PausedUntil)
	default:
		return "active"
	}
}

func (a *app) queuePurgeCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge QUEUE",
		Short: "Remove every job waiting on a queue",
		Long: `Removes every job message of the queue from naq_jobs: the waiting ones, and the ones
being run (those still finish, but their acknowledgement finds nothing). Asks
first unless --yes is given; without a terminal, --yes is required.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := args[0]
			if err := layout.ValidateQueue(q); err != nil {
				return usagef("%v", err)
			}
			if err := a.confirm(yes, fmt.Sprintf("purge every job of queue %s", q)); err != nil {
				return err
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				n, err := c.Purge(ctx, q)
				if err != nil {
					return asUsage(err, naq.ErrInvalidQueue)
				}
				return a.show(map[string]any{"queue": q, "purged": n}, func() error {
					_, err := fmt.Fprintf(a.stdout, "purged %d jobs from queue %s\n", n, q)
					return err
				})
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
