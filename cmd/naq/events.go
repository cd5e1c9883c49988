package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow jobs' lifecycle events, or read a job's stored ones",
		Long: `Workers started with events on (worker.WithEvents, 'naq worker --events') and
producers with naq.WithEvents publish an event at every step of a job:
enqueued, started, completed, failed, retry_scheduled, snoozed, put_back,
cancelled, progress, dead_lettered, malformed; and worker_started,
worker_stopped.
They are core NATS messages on naq.jobs.events.<job_id>.<context>.<type>:
'tail' shows them as they happen. They are kept only once 'naq events
persist' has created the naq_events stream; 'history' reads a job's from it.`,
	}
	cmd.AddCommand(a.eventsTailCommand(), a.eventsHistoryCommand(), a.eventsPersistCommand())
	return cmd
}

func (a *app) eventsTailCommand() *cobra.Command {
	var job string
	var types []string
	var count int
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print events as they are published, until interrupted",
		Long: `Print events as they are published, one line each (with --json, one JSON
object per line), until SIGINT, or until --count events were printed.
--queue selects one queue's events (given on the command line; by default
all queues), --job one job's, --type some types.`,
		Example: `  naq events tail
  naq events tail --job 3f2a... --json
  naq events tail -q emails --type failed --type dead_lettered`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := naq.EventFilter{JobID: job, Queue: a.queueFilter(cmd)}
			for _, t := range types {
				if !slices.Contains(naq.EventTypes(), naq.EventType(t)) {
					return usagef("--type %q is not an event type: want one of %s", t, eventTypeList())
				}
				f.Types = append(f.Types, naq.EventType(t))
			}
			if count < 0 {
				return usagef("--count %d must not be negative", count)
			}
			ctx := cmd.Context()
			c, nc, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer nc.Close()
			s, err := c.SubscribeEvents(ctx, f)
			if err != nil {
				return trimPrefix(asUsage(err, naq.ErrInvalidJob, naq.ErrInvalidRequest))
			}
			defer func() { _ = s.Close() }()
			fmt.Fprintln(a.stderr, "following events; Ctrl-C stops")
			enc := json.NewEncoder(a.stdout)
			for n := 0; count == 0 || n < count; n++ {
				e, err := s.Next(ctx)
				if err != nil {
					return nil // interrupted
				}
				if a.jsonOut {
					if err := enc.Encode(e); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintln(a.stdout, eventLine(e))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&job, "job", "", "only this job's events")
	cmd.Flags().StringArrayVar(&types, "type", nil, "only events of this type (repeatable): "+eventTypeList())
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: never)")
	return cmd
}

func (a *app) eventsHistoryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "history JOB_ID",
		Short: "Print a job's stored events, oldest first (needs 'naq events persist')",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				evs, err := c.EventHistory(ctx, args[0])
				if errors.Is(err, naq.ErrInvalidJob) {
					return usagef("%v", trimPrefix(err))
				}
				if err != nil {
					return err
				}
				return a.show(evs, func() error {
					if len(evs) == 0 {
						fmt.Fprintln(a.stdout, "no stored events for job", args[0])
					}
					for _, e := range evs {
						fmt.Fprintln(a.stdout, eventLine(e))
					}
					return nil
				})
			})
		},
	}
}

func (a *app) eventsPersistCommand() *cobra.Command {
	var maxAge time.Duration
	var maxBytes int64
	cmd := &cobra.Command{
		Use:   "persist",
		Short: "Keep events in the naq_events stream (creates or updates it)",
		Long: `Create (or update) the naq_events stream, which keeps every event published
from then on for --max-age within --max-bytes, dropping the oldest first.
Remove the stream (nats stream rm naq_events) to stop keeping them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxAge < 0 || maxBytes < 0 {
				return usagef("--max-age and --max-bytes must not be negative")
			}
			return a.clientDo(cmd, 0, func(ctx context.Context, c *naq.Client) error {
				if err := c.EnsureEventsStream(ctx, maxAge, maxBytes); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "events are kept in the naq_events stream")
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&maxAge, "max-age", 24*time.Hour, "how long events are kept")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", 256<<20, "how many bytes of events are kept")
	return cmd
}

// eventTypeList names the event types, comma-separated.
func eventTypeList() string {
	var names []string
	for _, t := range naq.EventTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// eventLine is one event on one line: time, type, job, queue, function,
// attempt, and what there is of duration, delay and error.
func eventLine(e naq.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-15s  %s", e.Time.UTC().Format("15:04:05.000"), e.Type, e.JobID)
	if e.Queue != "" {
		fmt.Fprintf(&b, "  queue=%s", e.Queue)
	}
	if len(e.Queues) > 0 {
		fmt.Fprintf(&b, "  queues=%s", strings.Join(e.Queues, ","))
	}
	if e.Function != "" {
		fmt.Fprintf(&b, "  function=%s", e.Function)
	}
	if e.Attempt > 0 {
		fmt.Fprintf(&b, "  attempt=%d", e.Attempt)
	}
	if e.DurationMS > 0 {
		fmt.Fprintf(&b, "  took=%s", time.Duration(e.DurationMS*float64(time.Millisecond)).Round(time.Microsecond))
	}
	if e.DelayMS > 0 {
		fmt.Fprintf(&b, "  back_in=%s", time.Duration(e.DelayMS*float64(time.Millisecond)).Round(time.Millisecond))
	}
	if e.ErrorKind != "" {
		fmt.Fprintf(&b, "  kind=%s", e.ErrorKind)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, "  error=%q", e.Error)
	}
	if e.WorkerID != "" {
		fmt.Fprintf(&b, "  worker=%s", e.WorkerID)
	}
	return b.String()
}
