package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) scheduleAddCommand() *cobra.Command {
	var (
		cron, tz, argsJSON, kwargsJSON, id, start string
		every                                     time.Duration
		repeat, maxFailures, maxRetries           int
		catchUpAll                                bool
	)
	cmd := &cobra.Command{
		Use:   "add NAME (--cron EXPR | --every D)",
		Short: "Add a recurring job",
		Long: `Registers a recurring job: every occurrence enqueues the job NAME (the handler's
name) with --args (a JSON array) and --kwargs (a JSON object) on --queue, once
'naq scheduler' runs. --cron takes a five-field cron expression (or @hourly,
@daily...) read in --tz (default UTC); --every an interval of at least 1s.
Occurrences that fell due while no scheduler led all run if they are within the
scheduler's catch-up window (default 1m); older ones run once for all of them,
or each with --catch-up-all. --id takes at most 184 characters.`,
		Example: `  naq schedule add reports:daily --cron "0 6 * * *" --tz Europe/Berlin --kwargs '{"team":"ops"}'
  naq schedule add cache:warm --every 5m --repeat 12 -q cache`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if f.Changed("cron") == f.Changed("every") {
				return usagef("give --cron EXPR or --every DURATION (one of them)")
			}
			var opts []naq.ScheduleOption
			if f.Changed("cron") {
				opts = append(opts, naq.Cron(cron))
			} else {
				if every <= 0 {
					return usagef("--every must be positive")
				}
				opts = append(opts, naq.Every(every))
			}
			if tz != "" {
				opts = append(opts, naq.InZone(tz))
			}
			if f.Changed("repeat") {
				opts = append(opts, naq.Repeat(repeat))
			}
			if id != "" {
				opts = append(opts, naq.ScheduleID(id))
			}
			if catchUpAll {
				opts = append(opts, naq.CatchUpMissed())
			}
			if f.Changed("max-failures") {
				opts = append(opts, naq.MaxFailures(maxFailures))
			}
			if start != "" {
				t, err := parseTimeFlag("start", start)
				if err != nil {
					return err
				}
				opts = append(opts, naq.StartAt(t))
			}
			pos, kw, err := jsonArgs(argsJSON, kwargsJSON)
			if err != nil {
				return err
			}
			jobOpts := []naq.EnqueueOption{naq.Queue(a.queue)}
			if f.Changed("max-retries") {
				jobOpts = append(jobOpts, naq.MaxRetries(maxRetries))
			}
			if kw != nil {
				jobOpts = append(jobOpts, func(j *naq.Job) error { j.Kwargs = kw; return nil })
			}
			opts = append(opts, naq.WithJobOptions(jobOpts...))
			var jobArgs any
			if pos != nil {
				jobArgs = pos
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				if id != "" {
					if old, err := c.GetSchedule(ctx, id); err == nil && old.State != naq.ScheduleCancelled {
						return fmt.Errorf("schedule %s already exists (%s); modify it, or cancel it first", id, old.State)
					}
				}
				s, err := c.Schedule(ctx, args[0], jobArgs, opts...)
				if err != nil {
					return asUsage(err, naq.ErrInvalidSchedule, naq.ErrInvalidJob, naq.ErrInvalidQueue, naq.ErrInvalidArgs)
				}
				if err := a.show(s, func() error {
					_, err := fmt.Fprintf(a.stdout, "added schedule %s: %s on queue %s, %s, next run %s\n",
						s.ID, s.Name, s.Queue, scheduleSpec(s), fmtTime(s.NextRun))
					return err
				}); err != nil {
					return err
				}
				a.warnNoScheduler(ctx, c)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cron, "cron", "", "cron expression (5 fields, or @hourly, @daily, ...)")
	f.DurationVar(&every, "every", 0, "interval between occurrences (at least 1s)")
	f.StringVar(&tz, "tz", "", "IANA time zone of the cron expression (default UTC)")
	f.IntVar(&repeat, "repeat", 0, "number of occurrences, then the schedule ends (default: no end)")
	f.StringVar(&argsJSON, "args", "", "positional arguments, a JSON array")
	f.StringVar(&kwargsJSON, "kwargs", "", "keyword arguments, a JSON object")
	f.StringVar(&id, "id", "", "schedule id (default: random)")
	f.BoolVar(&catchUpAll, "catch-up-all", false, "enqueue every occurrence missed before the catch-up window, not just one")
	f.StringVar(&start, "start", "", "first run, RFC 3339 (default: the first occurrence from now)")
	f.IntVar(&maxFailures, "max-failures", naq.DefaultMaxScheduleFailures, "failed enqueues in a row before the schedule is marked failed")
	f.IntVar(&maxRetries, "max-retries", 0, "retries of each occurrence's job")
	return cmd
}
