// Package worker runs naq jobs: it consumes one or more queues with bounded
// concurrency, calls the handler registered under each job's name, stores the
// result before acknowledging, and keeps a heartbeat record.
//
// A Worker coordinates three managers that each work on their own, built from
// one explicit Shared context: StatusManager (the worker's record in
// naq_workers), JobStatusManager (job status, results, dependency checks) and
// FailedJobHandler (the naq_failed_jobs stream).
package worker

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// Identity names one worker process.
type Identity struct {
	ID        string
	Hostname  string
	PID       int
	StartedAt time.Time
}

// NewIdentity makes an identity "<name>-<host>-<pid>-<6 hex>"; name defaults to
// "naq-worker".
func NewIdentity(name string) Identity {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown"
	}
	if name == "" {
		name = "naq-worker"
	}
	pid := os.Getpid()
	id := fmt.Sprintf("%s-%s-%d-%s", name, host, pid, uuid.NewString()[:6])
	return Identity{ID: sanitizeKey(id), Hostname: host, PID: pid, StartedAt: time.Now().UTC()}
}

// sanitizeKey keeps only characters that are valid in a KV key.
func sanitizeKey(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '-' || c == '_' || c == '=' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// Shared is the context every manager is built from: the connection, the
// JetStream handle, the configuration, the logger and the worker's identity.
type Shared struct {
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Config   Config
	Logger   *slog.Logger
	Identity Identity
}

// NewShared builds a Shared context on nc; zero Config fields take defaults.
func NewShared(nc *nats.Conn, cfg Config, logger *slog.Logger, id Identity) (*Shared, error) {
	// A result write that gets no answer fails after ioTimeout, so a job
	// never waits forever on a lost acknowledgement.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ioTimeout))
	if err != nil {
		return nil, fmt.Errorf("worker: jetstream: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Shared{Conn: nc, JS: js, Config: cfg, Logger: logger.With("worker", id.ID), Identity: id}, nil
}

func (s *Shared) layout() layout.Config {
	return layout.Config{Replicas: s.Config.Replicas, Logger: s.Logger}
}
