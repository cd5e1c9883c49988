package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// queueInfo is one queue as "naq queue list" and "naq queue stats" show it.
type queueInfo struct {
	Queue string `json:"queue"`
	// Messages is the job messages of the queue in naq_jobs: waiting and
	// running (a work-queue stream keeps a message until it is acknowledged).
	Messages uint64 `json:"messages"`
	// Pending is the jobs not yet delivered to a worker.
	Pending uint64 `json:"pending"`
	// Running is the jobs delivered and not yet answered (including jobs put
	// back with a delay, waiting for their retry).
	Running      int        `json:"running"`
	Redelivered  int        `json:"redelivered"`
	WaitingPulls int        `json:"waiting_pulls"`
	Consumer     bool       `json:"consumer"`
	Paused       bool       `json:"paused"`
	PausedUntil  *time.Time `json:"paused_until,omitempty"`
	// Workers and Rate are filled by "stats" only.
	Workers *int     `json:"workers,omitempty"`
	Rate    *float64 `json:"rate,omitempty"` // jobs/s

	answered int64 // deliveries answered so far, for the rate
}

// state says whether workers take the queue's jobs.
func (q *queueInfo) state() string {
	switch {
	case !q.Consumer:
		return "no consumer"
	case q.Paused && q.PausedUntil != nil && time.Until(*q.PausedUntil) < indefinitePause/2:
		return "paused until " + fmtTime(*q.PausedUntil)
	case q.Paused:
		return "paused"
	default:
		return "active"
	}
}

// snapshot is every known queue at one moment, by name.
type snapshot map[string]*queueInfo

func (s snapshot) sorted() []queueInfo {
	out := make([]queueInfo, 0, len(s))
	for _, q := range s {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out
}

// queueSnapshot reads the queues that have messages on naq_jobs (the stream's
// subject counts) or a worker consumer (naq-worker-<queue>).
func queueSnapshot(ctx context.Context, js jetstream.JetStream) (snapshot, error) {
	s, err := js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return nil, fmt.Errorf("queues: stream %s: %w", layout.JobsStream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(layout.JobsSubjectPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("queues: stream %s: %w", layout.JobsStream, err)
	}
	snap := snapshot{}
	get := func(q string) *queueInfo {
		if snap[q] == nil {
			snap[q] = &queueInfo{Queue: q}
		}
		return snap[q]
	}
	for subj, n := range info.State.Subjects {
		q, ok := strings.CutPrefix(subj, layout.JobsSubjectPrefix)
		if !ok || q == "" {
			continue
		}
		qi := get(q)
		qi.Messages, qi.Pending = n, n
	}
	lister := s.ListConsumers(ctx)
	for ci := range lister.Info() {
		q, ok := strings.CutPrefix(ci.Name, layout.ConsumerPrefix)
		if !ok || layout.ValidateQueue(q) != nil || ci.Config.FilterSubject != layout.QueueSubject(q) {
			continue
		}
		qi := get(q)
		qi.Consumer = true
		qi.Pending = ci.NumPending
		qi.Running = ci.NumAckPending
		qi.Redelivered = ci.NumRedelivered
		qi.WaitingPulls = ci.NumWaiting
		qi.Paused = ci.Paused
		if ci.Paused && ci.Config.PauseUntil != nil {
			t := ci.Config.PauseUntil.UTC()
			qi.PausedUntil = &t
		}
		qi.answered = int64(ci.Delivered.Consumer) - int64(ci.NumAckPending)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("queues: consumers of %s: %w", layout.JobsStream, err)
	}
	return snap, nil
}
