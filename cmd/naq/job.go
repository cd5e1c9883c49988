package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) jobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Look at one job, wait for it or cancel it",
		Long: `Look at one job by its id: its status, its result; wait for it to finish,
or cancel it.

'result' and 'wait' print the job's result value as JSON (with --json, the
whole result record) and exit 1 if the job failed or was cancelled, printing
the error. A job that no worker has picked up yet is not known to 'status'
and 'result' (unless it was enqueued with a delay).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("naq job needs a subcommand: status, result, wait or cancel")
		},
	}
	var waitTimeout time.Duration
	wait := &cobra.Command{
		Use:   "wait ID",
		Short: "Wait until the job finishes and print its result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if waitTimeout < 0 {
				return usagef("--wait-timeout %s must not be negative", waitTimeout)
			}
			return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
				return a.waitAndPrint(ctx, c, args[0], waitTimeout, false)
			})
		},
	}
	wait.Flags().DurationVar(&waitTimeout, "wait-timeout", 0, "give up after this long, exit 1 (default: no limit)")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "status ID",
			Short: "Show the job's status record",
			Args:  cobra.ExactArgs(1),
			RunE:  func(cmd *cobra.Command, args []string) error { return a.jobStatus(cmd, args[0]) },
		},
		&cobra.Command{
			Use:   "result ID",
			Short: "Print the result of a finished job",
			Args:  cobra.ExactArgs(1),
			RunE:  func(cmd *cobra.Command, args []string) error { return a.jobResult(cmd, args[0]) },
		},
		wait,
		&cobra.Command{
			Use:   "cancel ID",
			Short: "Cancel a job that has not finished",
			Long: `Cancel a job: a waiting or delayed job never runs, a running one has its
handler's context cancelled. Its result becomes "cancelled" at once and the jobs
that depend on it fail. A job that already finished cannot be cancelled (exit 1).`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return a.jobCancel(cmd, args[0]) },
		},
	)
	return cmd
}

// withJobClient runs f with a client; f's context is the command's (f bounds
// its own requests).
func (a *app) withJobClient(cmd *cobra.Command, f func(ctx context.Context, c *naq.Client) error) error {
	ctx := cmd.Context()
	c, nc, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	return f(ctx, c)
}

// jobError words the library's errors about one job for the command line.
func jobError(id string, err error) error {
	switch {
	case errors.Is(err, naq.ErrInvalidJob):
		return usagef("%v", err)
	case errors.Is(err, naq.ErrJobNotFound):
		return fmt.Errorf("job %s not found: unknown id, expired, or not picked up by a worker yet", id)
	}
	return err
}

func (a *app) jobStatus(cmd *cobra.Command, id string) error {
	return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
		rctx, cancel := a.withTimeout(ctx)
		defer cancel()
		st, err := c.Status(rctx, id)
		if err != nil {
			return jobError(id, err)
		}
		return a.show(st, func() error { return a.printTable([]string{"FIELD", "VALUE"}, jobStatusRows(st)) })
	})
}

// jobStatusRows lays a status record out as field/value rows, leaving out
// what it does not say.
func jobStatusRows(st *naq.JobStatus) [][]string {
	rows := [][]string{
		{"job id", st.JobID},
		{"state", string(st.State)},
	}
	add := func(k, v string) {
		if v != "" && v != "-" {
			rows = append(rows, []string{k, v})
		}
	}
	add("function", st.Name)
	add("queue", st.Queue)
	rows = append(rows, []string{"attempts", strconv.Itoa(st.Attempts)}, []string{"max retries", strconv.Itoa(st.MaxRetries)})
	add("worker", st.WorkerID)
	add("error", st.Error)
	add("enqueued", fmtTime(st.EnqueuedAt))
	add("started", fmtTime(st.StartedAt))
	add("finished", fmtTime(st.FinishedAt))
	if !st.NextAttemptAt.IsZero() && !st.State.Terminal() {
		add("next attempt", fmtTime(st.NextAttemptAt)+" (in "+max(time.Until(st.NextAttemptAt), 0).Round(time.Second).String()+")")
	}
	add("updated", ago(st.UpdatedAt))
	return rows
}

func (a *app) jobResult(cmd *cobra.Command, id string) error {
	return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
		rctx, cancel := a.withTimeout(ctx)
		defer cancel()
		res, err := c.Result(rctx, id)
		if errors.Is(err, naq.ErrResultNotReady) {
			if st, serr := c.Status(rctx, id); serr == nil {
				return fmt.Errorf("job %s has not finished (it is %s)", id, st.State)
			}
			return fmt.Errorf("job %s has not finished", id)
		}
		if err != nil {
			return jobError(id, err)
		}
		return a.printResult(res)
	})
}

// printResult prints a finished job's result: its value as JSON, or with
// --json the whole record. A failed or cancelled job is an error (exit 1).
func (a *app) printResult(res *naq.Result) error {
	if a.jsonOut {
		if err := a.printJSON(res); err != nil {
			return err
		}
	} else if res.Err() == nil {
		value := res.Value
		if len(value) == 0 {
			value = []byte("null")
		}
		if _, err := fmt.Fprintf(a.stdout, "%s\n", value); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		if res.ErrorKind != "" {
			return fmt.Errorf("%w (kind %s)", err, res.ErrorKind)
		}
		return err
	}
	return nil
}

func (a *app) jobCancel(cmd *cobra.Command, id string) error {
	return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
		rctx, cancel := a.withTimeout(ctx)
		defer cancel()
		if err := c.Cancel(rctx, id); err != nil {
			if errors.Is(err, naq.ErrAlreadyFinished) {
				if st, serr := c.Status(rctx, id); serr == nil {
					return fmt.Errorf("cannot cancel job %s: it has already finished (%s)", id, st.State)
				}
				return fmt.Errorf("cannot cancel job %s: it has already finished", id)
			}
			return jobError(id, err)
		}
		out := map[string]string{"job_id": id, "state": string(naq.StateCancelled)}
		return a.show(out, func() error {
			_, err := fmt.Fprintf(a.stdout, "cancelled job %s\n", id)
			return err
		})
	})
}
