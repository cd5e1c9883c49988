package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

func (a *app) failedCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "failed",
		Short: "List, show, requeue, delete and purge failed jobs",
		Long: `Failed jobs are records in the naq_failed_jobs stream, one per job that failed for
good (or message that was not a valid job), named by their sequence number (SEQ).
--queue limits list, requeue --all and purge to one queue; without it they take
every queue.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.failedListCommand(), a.failedShowCommand(), a.failedRequeueCommand(),
		a.failedDeleteCommand(), a.failedPurgeCommand())
	return cmd
}

// failedView is a failed-job record as --json prints it.
type failedView struct {
	Seq uint64 `json:"seq"`
	naq.FailedJob
	RawText string `json:"raw_text,omitempty"`
}

func viewFailed(r naq.FailedJob) failedView {
	v := failedView{Seq: r.Seq, FailedJob: r}
	if len(r.Raw) > 0 {
		if text, enc := bytesText(r.Raw); enc == "text" {
			v.RawText = text
		}
	}
	return v
}

func (a *app) failedListCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List failed jobs, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit must not be negative")
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				recs, err := c.ListFailed(ctx, a.queueFilter(cmd), limit)
				if err != nil {
					return asUsage(err, naq.ErrInvalidQueue)
				}
				views := make([]failedView, 0, len(recs))
				rows := make([][]string, 0, len(recs))
				for _, r := range recs {
					views = append(views, viewFailed(r))
					name, id := r.Name, r.JobID
					if r.Malformed {
						name, id = "(malformed)", "-"
					}
					attempts := fmt.Sprint(r.Attempts)
					if r.Foreign { // Python naq does not count them
						attempts = "-"
					}
					rows = append(rows, []string{fmt.Sprint(r.Seq), orDash(id), orDash(name), r.Queue,
						attempts, fmtTime(r.FailedAt), oneLine(r.Error, 60)})
				}
				return a.show(views, func() error {
					if len(recs) == 0 {
						_, err := fmt.Fprintln(a.stdout, "no failed jobs")
						return err
					}
					return a.printTable([]string{"SEQ", "JOB ID", "FUNCTION", "QUEUE", "ATTEMPTS", "FAILED AT", "ERROR"}, rows)
				})
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many records (0: all)")
	return cmd
}

func (a *app) failedShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show (SEQ | JOB_ID)",
		Short: "Show every field of a failed-job record, by record sequence or job id",
		Long: `Shows a failed-job record: by its sequence number (a number, as 'naq failed list'
shows), or by the id of the job that failed. A job that failed more than once
(requeued, then failed again) has several records: the newest is shown.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := seqOrJobID(args[0])
			if err != nil {
				return err
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				r, err := a.findFailed(ctx, c, seq, args[0])
				if err != nil {
					return err
				}
				return a.show(viewFailed(*r), func() error { return a.printKV(failedRows(r)) })
			})
		},
	}
}

// seqOrJobID reads the argument of 'naq failed show': a number is a record
// sequence (so 0 is refused as one, not looked up as a job id); anything
// else must be a job id (seq 0).
func seqOrJobID(arg string) (uint64, error) {
	if _, err := strconv.ParseUint(strings.TrimSpace(arg), 10, 64); err == nil {
		return parseSeq(arg)
	}
	if err := layout.ValidateJobID(arg); err != nil {
		return 0, usagef("%q is neither a record sequence number nor a job id (see 'naq failed list')", arg)
	}
	return 0, nil
}

// findFailed reads failed-job record seq, or when seq is 0 the newest record
// of job id.
func (a *app) findFailed(ctx context.Context, c *naq.Client, seq uint64, id string) (*naq.FailedJob, error) {
	if seq != 0 {
		return c.FailedJob(ctx, seq)
	}
	recs, err := c.ListFailed(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].JobID == id {
			return &recs[i], nil
		}
	}
	return nil, fmt.Errorf("no failed-job record of job %s (see 'naq failed list')", id)
}

// failedRows are the fields of a record for "naq failed show".
func failedRows(r *naq.FailedJob) [][2]string {
	attempts := fmt.Sprint(r.Attempts)
	if r.Foreign {
		attempts = "-"
	}
	rows := [][2]string{
		{"seq", fmt.Sprint(r.Seq)},
		{"job id", orDash(r.JobID)},
		{"function", orDash(r.Name)},
		{"queue", r.Queue},
		{"error", r.Error},
		{"error kind", orDash(r.ErrorKind)},
		{"attempts", attempts},
		{"max retries", fmt.Sprint(r.MaxRetries)},
		{"enqueued at", fmtTime(r.EnqueuedAt)},
		{"failed at", fmtTime(r.FailedAt)},
		{"worker", orDash(r.WorkerID)},
		{"subject", orDash(r.Subject)},
		{"stream seq", fmt.Sprint(r.StreamSeq)},
		{"malformed", fmt.Sprint(r.Malformed)},
	}
	if r.Foreign {
		rows = append(rows, [2]string{"written by", "Python naq (not requeueable; failed at is when the stream stored it)"})
	}
	if r.ArgsRepr != "" {
		rows = append(rows, [2]string{"args (repr)", r.ArgsRepr})
	}
	if r.KwargsRepr != "" {
		rows = append(rows, [2]string{"kwargs (repr)", r.KwargsRepr})
	}
	if r.Traceback != "" {
		rows = append(rows, [2]string{"traceback", r.Traceback})
	}
	if len(r.Job) > 0 {
		rows = append(rows, [2]string{"job", string(r.Job)})
	}
	if len(r.Raw) > 0 {
		text, enc := bytesText(r.Raw)
		if r.RawTruncated { // the message was too large for its record
			enc += fmt.Sprintf(", its first %d of %d bytes", len(r.Raw), r.RawSize)
		}
		rows = append(rows, [2]string{"raw (" + enc + ")", text})
	}
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) failedRequeueCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "requeue (SEQ... | --all)",
		Short: "Put failed jobs back on their queue, to run again from attempt 1",
		Long: `Requeues failed jobs under their job ids and removes their records. --all requeues
every requeueable record (of --queue, if given); malformed records, or ones
without the original job, stay and are reported.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usagef("give record sequence numbers or --all (not both)")
			}
			if !all && a.queueFilter(cmd) != "" {
				return usagef("--queue goes with --all")
			}
			seqs := make([]uint64, 0, len(args))
			for _, s := range args {
				seq, err := parseSeq(s)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			if all {
				return a.requeueAll(cmd)
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				type requeued struct {
					Seq   uint64 `json:"seq"`
					JobID string `json:"job_id"`
					Queue string `json:"queue"`
				}
				var out []requeued
				for _, seq := range seqs {
					j, err := c.RequeueFailed(ctx, seq)
					if err != nil {
						return err
					}
					out = append(out, requeued{seq, j.ID, j.Queue})
				}
				return a.show(out, func() error {
					for _, r := range out {
						fmt.Fprintf(a.stdout, "requeued record %d: job %s on queue %s\n", r.Seq, r.JobID, r.Queue)
					}
					return nil
				})
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "requeue every failed job (of --queue, if given)")
	return cmd
}

// requeueAll requeues every record of the --queue filter, showing progress.
func (a *app) requeueAll(cmd *cobra.Command) error {
	ctx, cancel := a.withTimeout(cmd.Context())
	defer cancel()
	c, nc, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	q := a.queueFilter(cmd)
	// No overall deadline: every request has its own timeout; ^C stops.
	var step func(int)
	finish := func() {}
	n, rerr := c.RequeueAllFailed(cmd.Context(), q, func(done, total int) {
		if step == nil {
			step, finish = a.progress("requeueing", total)
		}
		step(done)
	})
	finish()
	if n == 0 && rerr != nil {
		return asUsage(rerr, naq.ErrInvalidQueue)
	}
	out := map[string]any{"requeued": n}
	if rerr != nil {
		out["errors"] = rerr.Error()
	}
	if err := a.show(out, func() error {
		_, err := fmt.Fprintf(a.stdout, "requeued %d failed jobs\n", n)
		return err
	}); err != nil {
		return err
	}
	if rerr != nil {
		return fmt.Errorf("some records were not requeued:\n%w", rerr)
	}
	return nil
}

func (a *app) failedDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete SEQ...",
		Short: "Delete failed-job records",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seqs := make([]uint64, 0, len(args))
			for _, s := range args {
				seq, err := parseSeq(s)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			return a.confirmed(cmd, yes, fmt.Sprintf("delete %d failed-job record(s)", len(seqs)), func(ctx context.Context, c *naq.Client) error {
				for _, seq := range seqs {
					if err := c.DeleteFailed(ctx, seq); err != nil {
						return err
					}
				}
				return a.showLine(map[string]any{"deleted": seqs}, "deleted %d failed-job record(s)", len(seqs))
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (a *app) failedPurgeCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete every failed-job record (of --queue, if given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := a.queueFilter(cmd)
			what := "every failed-job record"
			if q != "" {
				what += " of queue " + q
			}
			return a.confirmed(cmd, yes, "delete "+what, func(ctx context.Context, c *naq.Client) error {
				n, err := c.PurgeFailed(ctx, q)
				if err != nil {
					return asUsage(err, naq.ErrInvalidQueue)
				}
				return a.showLine(map[string]any{"queue": q, "purged": n}, "purged %d failed-job record(s)", n)
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
