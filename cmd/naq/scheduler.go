package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq/internal/redact"
	"github.com/naqgo/naq/scheduler"
)

func (a *app) schedulerCommand() *cobra.Command {
	var id string
	var ttl, window time.Duration
	var events bool
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler: enqueue the occurrences of recurring jobs",
		Long: `Runs a scheduler until SIGINT or SIGTERM. Several schedulers may run for high
availability: they elect one leader through the naq_go_scheduler_lock bucket, and
only the leader enqueues. A leader that dies is replaced within about --lock-ttl
(default 2s); one that stops gives the lock up at once. A new leader enqueues
every occurrence that fell due within --catch-up-window (default 1m), so a
failover loses none; occurrences due earlier follow each schedule's catch-up
policy (one run for all of them, or each with 'schedule add --catch-up-all').
Delayed one-off jobs need no scheduler. If NATS is not up when it starts, it
waits for it, logging each try, and it reconnects forever.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < time.Second {
				return usagef("--lock-ttl %s is below one second", ttl)
			}
			log := a.logger()
			nc, err := a.connectRetrying(cmd.Context(), log)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return nil // stopped (SIGINT, SIGTERM) before NATS came up
				}
				return err
			}
			defer nc.Close()
			log.Info("connected to NATS", "url", redact.URL(nc.ConnectedUrl()))
			var mu sync.Mutex
			say := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(a.stdout, format+"\n", args...)
			}
			opts := []scheduler.Option{
				scheduler.WithLogger(log), scheduler.WithReplicas(a.replicas), scheduler.WithLockTTL(ttl),
				scheduler.WithCatchUpWindow(window),
			}
			if id != "" {
				opts = append(opts, scheduler.WithInstanceID(id))
			}
			if events {
				opts = append(opts, scheduler.WithEvents())
			}
			var s *scheduler.Scheduler
			opts = append(opts, scheduler.WithLeaderHook(func(leading bool) {
				if leading {
					say("scheduler %s: leading", s.ID())
				} else {
					say("scheduler %s: no longer leading", s.ID())
				}
			}))
			s, err = scheduler.New(nc, opts...)
			if err != nil {
				return usagef("%v", err)
			}
			say("scheduler %s: started (lock TTL %s, catch-up window %s); waiting for leadership", s.ID(), ttl, window)
			if err := s.Run(cmd.Context()); err != nil {
				return err
			}
			say("scheduler %s: stopped", s.ID())
			return nil
		},
	}
	cmd.Flags().BoolVar(&events, "events", false, "publish an enqueued event for each occurrence enqueued (see 'naq events')")
	cmd.Flags().StringVar(&id, "instance-id", "", "this scheduler's id (default: <host>-<8 hex digits>)")
	cmd.Flags().DurationVar(&ttl, "lock-ttl", scheduler.DefaultLockTTL, "leader lease: the failover time after a leader dies (at least 1s)")
	cmd.Flags().DurationVar(&window, "catch-up-window", scheduler.DefaultCatchUpWindow,
		"occurrences due this far back all run (0 to 1m30s); earlier ones follow the schedule's catch-up policy")
	return cmd
}
