package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) jobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Look at one job, wait for it or cancel it",
		Long: `Look at one job by its id: its status, its result, the jobs that wait for
it; wait for it to finish, or cancel it.

'result' and 'wait' print the job's result value as JSON (with --json, the
whole result record) and exit 1 if the job failed or was cancelled, printing
the error.

What 'status' knows of a job waiting in its queue: 'naq enqueue' writes a
pending record with every job, and so does a Go producer with
naq.WithPendingRecords; a job from a producer that writes none (Go's default,
Python naq) has no record until a worker picks it up, and 'status' says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("naq job needs a subcommand: status, result, wait, cancel or dependents")
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
				queue := ""
				rctx, cancel := a.withTimeout(ctx)
				st, err := c.Status(rctx, args[0])
				cancel()
				if err == nil && (st.State == naq.StatePending || st.State == naq.StateRetrying) {
					queue = st.Queue
					a.warnNoWorker(ctx, c, queue)
				}
				return a.waitAndPrint(ctx, c, args[0], queue, waitTimeout, false)
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
		a.jobCancelCommand(),
		a.jobDependentsCommand(),
	)
	return cmd
}

func (a *app) jobCancelCommand() *cobra.Command {
	var yes, force bool
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a job that has not finished",
		Long: `Cancel a job: a waiting or delayed job never runs, a running one has its
handler's context cancelled. Its result becomes "cancelled" at once and the jobs
that depend on it fail. A job that already finished cannot be cancelled (exit 1).

Asks first unless --yes is given. A job naq has no record of is refused (exit
1): the id may be mistyped. --force cancels it anyway, for a job that waits in
its queue without a record (enqueued by a producer that writes no pending
record): it will not run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.jobCancel(cmd, args[0], yes, force) },
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&force, "force", false, "cancel even a job naq has no record of")
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
		return fmt.Errorf("no record of job %s: the id is unknown, its records expired, or it waits in its queue "+
			"enqueued by a producer that writes no pending record (Python naq, Go without naq.WithPendingRecords) "+
			"and no worker has picked it up yet", id)
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
		return a.show(st, func() error { return a.printKV(jobStatusRows(st)) })
	})
}

// jobStatusRows lays a status record out as field/value rows, leaving out
// what it does not say.
func jobStatusRows(st *naq.JobStatus) [][2]string {
	rows := [][2]string{
		{"job id", st.JobID},
		{"state", string(st.State)},
	}
	add := func(k, v string) {
		if v != "" && v != "-" {
			rows = append(rows, [2]string{k, v})
		}
	}
	add("function", st.Name)
	add("queue", st.Queue)
	rows = append(rows, [2]string{"attempts", strconv.Itoa(st.Attempts)}, [2]string{"max retries", strconv.Itoa(st.MaxRetries)})
	add("worker", st.WorkerID)
	if p := st.Progress; p != nil && !st.State.Terminal() {
		add("progress", strings.TrimSpace(strconv.FormatFloat(p.Fraction*100, 'f', -1, 64)+"% "+p.Message)+" ("+ago(p.UpdatedAt)+")")
	}
	add("error", st.Error)
	add("enqueued at", fmtTime(st.EnqueuedAt))
	add("started at", fmtTime(st.StartedAt))
	add("finished at", fmtTime(st.FinishedAt))
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

func (a *app) jobCancel(cmd *cobra.Command, id string, yes, force bool) error {
	return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
		rctx, cancel := a.withTimeout(ctx)
		defer cancel()
		what := "cancel job " + id
		switch st, err := c.Status(rctx, id); {
		case errors.Is(err, naq.ErrJobNotFound) && force:
			what += " (naq has no record of it)"
		case errors.Is(err, naq.ErrJobNotFound):
			return fmt.Errorf("no record of job %s: nothing cancelled (a mistyped id? 'naq job cancel --force %s' cancels a job "+
				"that waits in its queue without a record)", id, id)
		case err != nil:
			return jobError(id, err)
		case st.State.Terminal():
			return fmt.Errorf("cannot cancel job %s: it has already finished (%s)", id, st.State)
		default:
			what += " (" + string(st.State) + ")"
		}
		if err := a.confirm(yes, what); err != nil {
			return err
		}
		if err := c.Cancel(rctx, id); err != nil {
			if errors.Is(err, naq.ErrAlreadyFinished) {
				return fmt.Errorf("cannot cancel job %s: it finished meanwhile", id)
			}
			return jobError(id, err)
		}
		out := map[string]string{"job_id": id, "state": string(naq.StateCancelled)}
		return a.showLine(out, "cancelled job %s", id)
	})
}
