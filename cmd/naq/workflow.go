package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) workflowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Look at a workflow: its steps and their states",
		Long: `Look at a workflow (chains and groups of jobs enqueued together, see
docs/workflows.md) by its id.

'show' prints the workflow's state and one line per step: its place
(2.1 is the first member of the group that is the chain's second step,
2.then that group's callback), job id, function, state and what it waits
for or why it failed. With --json, the whole record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("naq workflow needs a subcommand: show")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show the workflow's state and each step's",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.workflowShow(cmd, args[0]) },
	})
	return cmd
}

func (a *app) workflowShow(cmd *cobra.Command, id string) error {
	return a.withJobClient(cmd, func(ctx context.Context, c *naq.Client) error {
		rctx, cancel := a.withTimeout(ctx)
		defer cancel()
		wf, err := c.Workflow(rctx, id)
		switch {
		case errors.Is(err, naq.ErrInvalidJob):
			return usagef("%v", err)
		case errors.Is(err, naq.ErrWorkflowNotFound):
			return fmt.Errorf("no record of workflow %s: the id is unknown, or the workflow expired with its results", id)
		case err != nil:
			return err
		}
		return a.show(wf, func() error { return a.workflowTable(wf) })
	})
}

func (a *app) workflowTable(wf *naq.Workflow) error {
	counts := map[naq.State]int{}
	for _, s := range wf.Steps {
		counts[s.State]++
	}
	var summary []string
	for _, st := range []naq.State{naq.StateCompleted, naq.StateRunning, naq.StateRetrying, naq.StatePending,
		naq.StateScheduled, naq.StateFailed, naq.StateCancelled} {
		if n := counts[st]; n > 0 {
			summary = append(summary, strconv.Itoa(n)+" "+string(st))
		}
	}
	rows := [][2]string{
		{"workflow", wf.ID},
		{"state", string(wf.State)},
		{"steps", strconv.Itoa(len(wf.Steps)) + " (" + strings.Join(summary, ", ") + ")"},
		{"created at", fmtTime(wf.CreatedAt)},
	}
	if !wf.Enqueued {
		rows = append(rows, [2]string{"enqueued", "unconfirmed: its producer stopped before the server confirmed the jobs, or is still sending them"})
	}
	if err := a.printKV(rows); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	table := make([][]string, 0, len(wf.Steps))
	for _, s := range wf.Steps {
		note := s.Error
		if s.AllowFailedDependencies && note == "" && !s.State.Terminal() {
			note = "runs also if a dependency fails"
		}
		table = append(table, []string{s.Path, s.JobID, s.Name, string(s.State), orDash(note)})
	}
	return a.printTable([]string{"STEP", "JOB ID", "FUNCTION", "STATE", "NOTE"}, table)
}
