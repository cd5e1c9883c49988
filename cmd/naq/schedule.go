package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) scheduleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Recurring jobs: add, list, show, pause, resume, cancel, delete, modify; delayed jobs",
		Long: `Recurring jobs are records in the naq_scheduled_jobs bucket; 'naq scheduler' enqueues
their occurrences. 'naq schedule delayed' lists one-off delayed jobs, which the
NATS server fires by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.scheduleAddCommand(), a.scheduleListCommand(), a.scheduleShowCommand(),
		a.scheduleStateCommand("pause", "Stop enqueueing a schedule's occurrences until resumed", (*naq.Client).PauseSchedule),
		a.scheduleStateCommand("resume", "Resume a paused or failed schedule (its failure count restarts)", (*naq.Client).ResumeSchedule),
		a.scheduleStateCommand("cancel", "Cancel a schedule for good; its record stays, as cancelled (its id may be reused)", (*naq.Client).CancelSchedule),
		a.scheduleDeleteCommand(), a.scheduleModifyCommand(), a.scheduleDelayedCommand())
	return cmd
}

// scheduleErr gives an unknown schedule a plain message.
func scheduleErr(id string, err error) error {
	if errors.Is(err, naq.ErrScheduleNotFound) {
		return fmt.Errorf("no schedule %q (see 'naq schedule list')", id)
	}
	return err
}

// scheduleSpec describes when a schedule fires.
func scheduleSpec(s *naq.Schedule) string {
	if s.Cron != "" {
		tz := s.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		return fmt.Sprintf("cron %q %s", s.Cron, tz)
	}
	return "every " + s.Interval.String()
}

// overdueAfter is how late an active schedule's next run may be before it is
// flagged: a scheduler fires on time, so a run this late means none is running.
const overdueAfter = 30 * time.Second

// nextRun is a schedule's next run, flagged when it is overdue (an active
// schedule whose run is well past: no scheduler is firing it).
func nextRun(s *naq.Schedule) string {
	t := fmtTime(s.NextRun)
	if s.State == naq.ScheduleActive && !s.NextRun.IsZero() && time.Since(s.NextRun) > overdueAfter {
		t += " (overdue " + time.Since(s.NextRun).Round(time.Second).String() + ": is a scheduler running?)"
	}
	return t
}

func repeatsLeft(s *naq.Schedule) string {
	if s.RepeatsLeft == nil {
		return "unlimited"
	}
	return fmt.Sprint(*s.RepeatsLeft)
}

func (a *app) scheduleListCommand() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recurring jobs, next due first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch naq.ScheduleState(state) {
			case "", naq.ScheduleActive, naq.SchedulePaused, naq.ScheduleFailed, naq.ScheduleCancelled:
			default:
				return usagef("--state %q: want active, paused, failed or cancelled", state)
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				all, err := c.ListSchedules(ctx)
				if err != nil {
					return err
				}
				list := make([]naq.Schedule, 0, len(all))
				for _, s := range all {
					if state == "" || string(s.State) == state {
						list = append(list, s)
					}
				}
				return a.show(list, func() error {
					if len(list) == 0 {
						_, err := fmt.Fprintln(a.stdout, "no schedules")
						return err
					}
					rows := make([][]string, 0, len(list))
					for i := range list {
						s := &list[i]
						rows = append(rows, []string{s.ID, s.Name, s.Queue, string(s.State), scheduleSpec(s),
							nextRun(s), fmtTime(s.LastRun), repeatsLeft(s), fmt.Sprintf("%d/%d", s.FailureCount, s.MaxFailures)})
					}
					return a.printTable([]string{"ID", "FUNCTION", "QUEUE", "STATE", "SCHEDULE", "NEXT RUN", "LAST RUN", "REPEATS LEFT", "FAILURES"}, rows)
				})
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only schedules in this state: active, paused, failed, cancelled")
	return cmd
}

func (a *app) scheduleShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show every field of a recurring job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				s, err := c.GetSchedule(ctx, args[0])
				if err != nil {
					return scheduleErr(args[0], err)
				}
				return a.show(s, func() error { return a.printKV(scheduleRows(s)) })
			})
		},
	}
}

func scheduleRows(s *naq.Schedule) [][2]string {
	rows := [][2]string{
		{"id", s.ID},
		{"function", s.Name},
		{"queue", s.Queue},
		{"state", string(s.State)},
		{"schedule", scheduleSpec(s)},
		{"next run", nextRun(s)},
		{"last run", fmtTime(s.LastRun)},
		{"last job id", orDash(s.LastJobID)},
		{"repeats left", repeatsLeft(s)},
		{"catch up", string(s.CatchUp)},
		{"failures", fmt.Sprintf("%d (of at most %d)", s.FailureCount, s.MaxFailures)},
		{"last error", orDash(s.LastError)},
		{"created at", fmtTime(s.CreatedAt)},
		{"updated at", fmtTime(s.UpdatedAt)},
		{"revision", fmt.Sprint(s.Revision)},
	}
	if j, err := naq.DecodeJob(s.Template); err == nil {
		args, _ := json.Marshal(j.Args)
		kwargs, _ := json.Marshal(j.Kwargs)
		rows = append(rows, [2]string{"args", string(args)}, [2]string{"kwargs", string(kwargs)},
			[2]string{"max retries", fmt.Sprint(j.MaxRetries)})
	} else {
		rows = append(rows, [2]string{"job", string(s.Template)})
	}
	return rows
}

// scheduleStateCommand is pause, resume or cancel; cancel asks first.
func (a *app) scheduleStateCommand(use, short string, op func(*naq.Client, context.Context, string) (*naq.Schedule, error)) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   use + " ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				if use == "cancel" {
					if err := a.confirmSchedules(ctx, c, yes, "cancel", args); err != nil {
						return err
					}
				}
				var out []*naq.Schedule
				for _, id := range args {
					s, err := op(c, ctx, id)
					if err != nil {
						return scheduleErr(id, err)
					}
					out = append(out, s)
				}
				return a.show(out, func() error {
					for _, s := range out {
						fmt.Fprintf(a.stdout, "schedule %s is %s (next run %s)\n", s.ID, s.State, fmtTime(s.NextRun))
					}
					return nil
				})
			})
		},
	}
	if use == "cancel" {
		cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	}
	return cmd
}

// confirmSchedules checks that every schedule exists (an unknown id is
// refused before asking), then asks whether to verb them.
func (a *app) confirmSchedules(ctx context.Context, c *naq.Client, yes bool, verb string, ids []string) error {
	for _, id := range ids {
		if _, err := c.GetSchedule(ctx, id); err != nil {
			return scheduleErr(id, err)
		}
	}
	return a.confirm(yes, fmt.Sprintf("%s schedule(s) %s for good", verb, strings.Join(ids, ", ")))
}

func (a *app) scheduleDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete schedules: their records go, and no occurrence fires again",
		Long: `Deletes schedules for good: unlike cancel, nothing of them stays in 'naq schedule
list'. Jobs they already enqueued are not touched. Asks first unless --yes.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				if err := a.confirmSchedules(ctx, c, yes, "delete", args); err != nil {
					return err
				}
				for _, id := range args {
					if err := c.DeleteSchedule(ctx, id); err != nil {
						return scheduleErr(id, err)
					}
				}
				return a.showLine(map[string]any{"deleted": args}, "deleted %d schedule(s): %s", len(args), strings.Join(args, ", "))
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (a *app) scheduleModifyCommand() *cobra.Command {
	var cron, tz, nextRun string
	var every time.Duration
	var repeat int
	cmd := &cobra.Command{
		Use:   "modify ID",
		Short: "Change when a recurring job fires",
		Long: `Changes the cron expression or interval, time zone, repeat count, or next run of a
schedule. The next run is recomputed from now unless --next-run is given.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []naq.ScheduleOption
			f := cmd.Flags()
			if f.Changed("cron") {
				opts = append(opts, naq.Cron(cron))
			}
			if f.Changed("every") {
				if every <= 0 {
					return usagef("--every must be positive")
				}
				opts = append(opts, naq.Every(every))
			}
			if f.Changed("tz") {
				opts = append(opts, naq.InZone(tz))
			}
			if f.Changed("repeat") {
				opts = append(opts, naq.Repeat(repeat))
			}
			if f.Changed("next-run") {
				t, err := parseTimeFlag("next-run", nextRun)
				if err != nil {
					return err
				}
				opts = append(opts, naq.StartAt(t))
			}
			if len(opts) == 0 {
				return usagef("nothing to modify: give --cron, --every, --tz, --repeat or --next-run")
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				s, err := c.ModifySchedule(ctx, args[0], opts...)
				if err != nil {
					return asUsage(scheduleErr(args[0], err), naq.ErrInvalidSchedule)
				}
				return a.showLine(s, "schedule %s: %s, next run %s", s.ID, scheduleSpec(s), fmtTime(s.NextRun))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cron, "cron", "", "new cron expression (replaces an interval)")
	f.DurationVar(&every, "every", 0, "new interval (replaces a cron expression)")
	f.StringVar(&tz, "tz", "", "new IANA time zone of the cron expression")
	f.IntVar(&repeat, "repeat", 0, "occurrences left (at least 1)")
	f.StringVar(&nextRun, "next-run", "", "next run, RFC 3339")
	return cmd
}

func (a *app) scheduleDelayedCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "delayed",
		Short: "List jobs waiting on the server for their time: delayed jobs (EnqueueAt, EnqueueIn), and retries or snoozes of an hour or more",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit must not be negative")
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				list, err := c.ListDelayed(ctx, limit)
				if err != nil {
					return err
				}
				type delayedView struct {
					JobID    string                     `json:"job_id"`
					Function string                     `json:"function"`
					Queue    string                     `json:"queue"`
					RunAt    time.Time                  `json:"run_at"`
					Seq      uint64                     `json:"seq"`
					Attempts int                        `json:"attempts"`
					Args     []json.RawMessage          `json:"args"`
					Kwargs   map[string]json.RawMessage `json:"kwargs"`
				}
				views := make([]delayedView, 0, len(list))
				rows := make([][]string, 0, len(list))
				for _, d := range list {
					views = append(views, delayedView{d.Job.ID, d.Job.Name, d.Job.Queue, d.RunAt, d.Seq, d.Attempts, d.Job.Args, d.Job.Kwargs})
					in := "due"
					if u := time.Until(d.RunAt); u > 0 {
						in = "in " + u.Round(time.Second).String()
					}
					rows = append(rows, []string{d.Job.ID, d.Job.Name, d.Job.Queue, fmtTime(d.RunAt), in, strconv.Itoa(d.Attempts)})
				}
				return a.show(views, func() error {
					if len(list) == 0 {
						_, err := fmt.Fprintln(a.stdout, "no delayed jobs")
						return err
					}
					return a.printTable([]string{"JOB ID", "FUNCTION", "QUEUE", "RUN AT", "DUE", "ATTEMPTS"}, rows)
				})
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many (0: all)")
	return cmd
}

// jsonArgs reads --args (a JSON array) and --kwargs (a JSON object).
func jsonArgs(argsJSON, kwargsJSON string) (naq.Args, map[string]json.RawMessage, error) {
	var args naq.Args
	if strings.TrimSpace(argsJSON) != "" {
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(argsJSON), &raw); err != nil {
			return nil, nil, usagef("--args %s: want a JSON array: %v", argsJSON, err)
		}
		for _, r := range raw {
			args = append(args, r)
		}
	}
	var kwargs map[string]json.RawMessage
	if strings.TrimSpace(kwargsJSON) != "" {
		if err := json.Unmarshal([]byte(kwargsJSON), &kwargs); err != nil || kwargs == nil {
			return nil, nil, usagef("--kwargs %s: want a JSON object", kwargsJSON)
		}
	}
	return args, kwargs, nil
}
