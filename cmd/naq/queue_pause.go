package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// unknownQueueErr refuses an unknown queue name.
func unknownQueueErr(q, force string) error {
	return fmt.Errorf("queue %s does not exist (no jobs and no worker have used it; see 'naq queue list')%s", q, force)
}

func (a *app) queuePauseCommand() *cobra.Command {
	var until string
	var dur time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "pause QUEUE...",
		Short: "Stop workers from taking jobs of a queue; jobs keep queueing",
		Long: `Pauses the queue's consumer: workers get no new jobs (running ones finish), while
producers keep enqueueing, so nothing is lost. Paused until 'naq queue resume',
or until --until (RFC 3339) or for --for.

A queue naq has never seen (no jobs, no consumer) is refused, as a likely typo;
--force pauses it anyway, creating its consumer paused, so that the first jobs
enqueued on it wait.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var deadline time.Time // zero: until resumed
			forGiven := cmd.Flags().Changed("for")
			switch {
			case until != "" && forGiven:
				return usagef("give --until or --for, not both")
			case until != "":
				t, err := parseTimeFlag("until", until)
				if err != nil {
					return err
				}
				if !t.After(time.Now()) {
					return usagef("--until %s is not in the future", until)
				}
				deadline = t
			case forGiven && dur <= 0:
				// Left out, the queue stays paused until resumed; given, it
				// must last a while.
				return usagef("--for %s must be positive (leave it out to pause until 'naq queue resume')", dur)
			case forGiven:
				deadline = time.Now().Add(dur)
			}
			for _, q := range args {
				if err := layout.ValidateQueue(q); err != nil {
					return usagef("%v", err)
				}
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				if !force {
					for _, q := range args {
						if _, err := c.Queue(ctx, q); errors.Is(err, naq.ErrQueueNotFound) {
							return unknownQueueErr(q, "; nothing paused (--force pauses it anyway)")
						} else if err != nil {
							return err
						}
					}
				}
				var out []naq.QueuePause
				for _, q := range args {
					st, err := c.PauseQueue(ctx, q, deadline)
					if err != nil {
						return err
					}
					out = append(out, st)
				}
				return a.printPause(out)
			})
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "pause until this RFC 3339 time")
	cmd.Flags().DurationVar(&dur, "for", 0, "pause for this long (positive; left out: until resumed)")
	cmd.Flags().BoolVar(&force, "force", false, "pause a queue naq has not seen yet")
	return cmd
}

func (a *app) queueResumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume QUEUE...",
		Short: "Let workers take jobs of a paused queue again",
		Long: `Resumes the queue's consumer. Running workers take its waiting jobs at once: they
learn of the resume from the server's pause advisory.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, q := range args {
				if err := layout.ValidateQueue(q); err != nil {
					return usagef("%v", err)
				}
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				var out []naq.QueuePause
				for _, q := range args {
					if err := c.ResumeQueue(ctx, q); err != nil {
						return err
					}
					out = append(out, naq.QueuePause{Queue: q})
				}
				return a.printPause(out)
			})
		},
	}
}

func (a *app) queueDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete QUEUE",
		Short: "Delete a queue: its waiting jobs and its consumer",
		Long: `Deletes a queue: every job message of it in naq_jobs (waiting or running; running
ones still finish, but their acknowledgement finds nothing) and its consumer,
with its pause state and counters. Results, status records and failed-job
records stay. A worker still configured for the queue makes its consumer again:
stop or reconfigure workers first. Asks first unless --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := args[0]
			if err := layout.ValidateQueue(q); err != nil {
				return usagef("%v", err)
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				info, err := c.Queue(ctx, q)
				if errors.Is(err, naq.ErrQueueNotFound) {
					return unknownQueueErr(q, ": nothing deleted")
				} else if err != nil {
					return err
				}
				if err := a.confirm(yes, fmt.Sprintf("delete queue %s and its %d job(s)", q, info.Messages)); err != nil {
					return err
				}
				n, err := c.DeleteQueue(ctx, q)
				if err != nil {
					return err
				}
				return a.show(map[string]any{"queue": q, "purged": n, "deleted": true}, func() error {
					_, err := fmt.Fprintf(a.stdout, "deleted queue %s (%d jobs removed)\n", q, n)
					return err
				})
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (a *app) printPause(sts []naq.QueuePause) error {
	return a.show(sts, func() error {
		for _, st := range sts {
			var err error
			switch {
			case !st.Paused:
				_, err = fmt.Fprintf(a.stdout, "queue %s resumed\n", st.Queue)
			case st.PausedUntil != nil && time.Until(*st.PausedUntil) < naq.PauseIndefinitely/2:
				_, err = fmt.Fprintf(a.stdout, "queue %s paused until %s\n", st.Queue, fmtTime(*st.PausedUntil))
			default:
				_, err = fmt.Fprintf(a.stdout, "queue %s paused until resumed (naq queue resume %s)\n", st.Queue, st.Queue)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
