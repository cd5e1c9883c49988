// Package scheduler enqueues the occurrences of recurring jobs (registered with
// naq.Client.Schedule). Run several schedulers for high availability: they
// elect one leader through naq_go_scheduler_lock, and only the leader acts.
// Python naq's schedulers elect theirs in naq_scheduler_lock, which is left
// alone: each kind runs its own schedule records.
// Delayed one-off jobs (EnqueueAt, EnqueueIn) need no scheduler: the NATS
// server fires them.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// DefaultLockTTL is how long a leader's lease lasts without renewal, and so
// bounds the failover time after a leader crashes: between three quarters of
// it and all of it, plus the server's expiry of the key. A shorter lease fails
// over sooner but renews more often and steps down after a shorter stall; see
// lead.
const DefaultLockTTL = 2 * time.Second

// Scheduler campaigns for leadership and, while it leads, enqueues every due
// occurrence of every active schedule.
type Scheduler struct {
	nc         *nats.Conn
	log        *slog.Logger
	id         string
	ttl        time.Duration
	window     time.Duration
	replicas   int
	events     bool
	leading    atomic.Bool
	onLeader   func(bool)
	leaderTerm atomic.Int64
}

// Option configures New.
type Option func(*Scheduler)

// WithInstanceID names this scheduler (default "<host>-<8 hex>").
func WithInstanceID(id string) Option { return func(s *Scheduler) { s.id = id } }

// WithLockTTL sets the lease time (default 2 s; at least 1 s).
func WithLockTTL(d time.Duration) Option { return func(s *Scheduler) { s.ttl = d } }

// WithCatchUpWindow sets how far back the leader enqueues every occurrence it
// finds due, whatever the schedule's catch-up policy (default 1 min; 0 to
// 90 s). Occurrences due earlier follow the schedule's policy. A window that
// covers the failover time makes a failover lose no occurrence.
func WithCatchUpWindow(d time.Duration) Option { return func(s *Scheduler) { s.window = d } }

// WithLogger logs through l.
func WithLogger(l *slog.Logger) Option { return func(s *Scheduler) { s.log = l } }

// WithReplicas sets the replica count of the buckets the scheduler creates.
func WithReplicas(n int) Option { return func(s *Scheduler) { s.replicas = n } }

// WithEvents publishes an enqueued lifecycle event for every occurrence the
// leader enqueues (see naq.WithEvents), so a follower of the events sees
// recurring jobs enter their queues as it sees any other job.
func WithEvents() Option { return func(s *Scheduler) { s.events = true } }

// WithLeaderHook calls f(true) when this instance becomes leader and f(false)
// when it stops leading.
func WithLeaderHook(f func(leading bool)) Option { return func(s *Scheduler) { s.onLeader = f } }

// New returns a scheduler on nc; the caller owns nc.
func New(nc *nats.Conn, opts ...Option) (*Scheduler, error) {
	host, _ := os.Hostname()
	s := &Scheduler{nc: nc, log: slog.Default(), id: fmt.Sprintf("%s-%s", host, uuid.NewString()[:8]), ttl: DefaultLockTTL, window: DefaultCatchUpWindow}
	for _, o := range opts {
		o(s)
	}
	if s.ttl < time.Second {
		return nil, fmt.Errorf("scheduler: lock TTL %s is below one second", s.ttl)
	}
	if s.window < 0 || s.window > MaxCatchUpWindow {
		return nil, fmt.Errorf("scheduler: catch-up window %s is outside 0 to %s (the job ids' duplicate window less a margin)",
			s.window, MaxCatchUpWindow)
	}
	s.log = s.log.With("scheduler", s.id)
	return s, nil
}

// ID is this instance's id.
func (s *Scheduler) ID() string { return s.id }

// Leading reports whether this instance leads now.
func (s *Scheduler) Leading() bool { return s.leading.Load() }

// Run campaigns and leads until ctx ends; then it gives the lease up at once
// so another scheduler takes over within a second.
func (s *Scheduler) Run(ctx context.Context) error {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	lc := layout.Config{Replicas: s.replicas, Logger: s.log}
	lockKV, err := layout.EnsureSchedulerLockBucket(ctx, js, lc, s.ttl)
	if err != nil {
		return err
	}
	schedules, err := layout.EnsureBucket(ctx, js, lc, layout.SchedulesBucket)
	if err != nil {
		return err
	}
	copts := []naq.ClientOption{naq.WithLogger(s.log), naq.WithReplicas(s.replicas)}
	if s.events {
		copts = append(copts, naq.WithEvents())
	}
	client, err := naq.NewClient(ctx, s.nc, copts...)
	if err != nil {
		return err
	}
	l := &lease{kv: lockKV, id: s.id, ttl: s.ttl}
	for ctx.Err() == nil {
		won, err := l.acquire(ctx)
		if err != nil {
			s.log.Warn("campaign failed; retrying", "err", err)
			sleep(ctx, s.ttl/4)
			continue
		}
		if !won {
			l.waitFree(ctx, s.ttl)
			continue
		}
		s.lead(ctx, l, &runner{client: client, kv: schedules, log: s.log, window: s.window})
	}
	return nil
}

// lead holds the lease, renewing it every quarter of its TTL, and runs the
// schedules until the lease is lost or ctx ends.
//
// The lease runs on the server from the moment a renewal was stored, so at
// least from when it was sent: the leader stops acting three quarters of the
// TTL after the last renewal it sent that succeeded, a quarter before anyone
// else can take over, whether renewals fail or hang. A renewal may thus take
// up to half the TTL (1 s by default) before a stall costs the lead. Should a
// leader step down wrongly (its renewal was stored but the answer came late),
// it takes its own lease back at once (lease.reclaim). The runner checks the
// same deadline before every enqueue, so a leader waking from a stall past its
// lease enqueues nothing; one stalled between that check and its enqueue sends
// an occurrence id the next leader also uses, which the server deduplicates;
// records change by compare-and-set.
func (s *Scheduler) lead(ctx context.Context, l *lease, r *runner) {
	acquired := time.Now().UTC()
	term := s.leaderTerm.Add(1)
	s.log.Info("leading", "term", term, "revision", l.rev)
	leadCtx, stop := context.WithCancel(ctx)
	defer stop()
	var heldUntil atomic.Int64 // Unix ns: three quarters of the TTL after the last renewal sent that succeeded
	heldUntil.Store(l.sent.Add(s.ttl * 3 / 4).UnixNano())
	var lapsed sync.Once
	r.held = func() bool {
		if time.Now().UnixNano() < heldUntil.Load() {
			return true
		}
		lapsed.Do(func() {
			s.log.Warn("lost the scheduler lock: no renewal in time")
			stop()
		})
		return false
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop()
		t := time.NewTicker(s.ttl / 4)
		defer t.Stop()
		lastSent := l.sent
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-t.C:
				sent, deadline := time.Now(), lastSent.Add(s.ttl*3/4)
				if !sent.Before(deadline) {
					s.log.Warn("lost the scheduler lock: no renewal in time")
					return
				}
				rctx, cancel := context.WithDeadline(leadCtx, deadline)
				err := l.renew(rctx, acquired)
				cancel()
				if err == nil {
					lastSent = sent
					heldUntil.Store(sent.Add(s.ttl * 3 / 4).UnixNano())
					continue
				}
				if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || !time.Now().Before(deadline) {
					s.log.Warn("lost the scheduler lock", "err", err)
					return
				}
			}
		}
	}()
	s.setLeading(true)
	r.run(leadCtx)
	s.setLeading(false)
	stop()
	wg.Wait()
	// Give the lease up at once however leading ended (a stop, a failed
	// watch); a lease already lost fails the revision check harmlessly.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := l.release(rctx); err != nil && ctx.Err() != nil {
		s.log.Warn("could not release the scheduler lock; it expires on its own", "err", err)
	}
}

func (s *Scheduler) setLeading(on bool) {
	s.leading.Store(on)
	if s.onLeader != nil {
		s.onLeader(on)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
