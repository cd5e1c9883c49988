package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/redact"
	"github.com/naqgo/naq/worker"
)

// workerFlags are the flags of `naq worker`.
type workerFlags struct {
	target            string
	concurrency       int
	httpTimeout       time.Duration
	ackWait           time.Duration
	shutdownTimeout   time.Duration
	name              string
	heartbeatInterval time.Duration
	resultArgs        bool
	observe           observeFlags
	flow              flowFlags
}

func (a *app) workerCommand() *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker [QUEUES...] --target URL",
		Short: "Run a worker that delivers every job to an HTTP endpoint",
		Long: `Run a worker that consumes the given queues (default: --queue) and delivers
each job, whatever its name, to --target as an HTTP POST of the job's JSON
(naq's wire format), with the headers X-Naq-Job-Id, X-Naq-Attempt,
X-Naq-Queue and X-Naq-Function. The answer decides what happens to the job:

  2xx                     completed; the body is the result (JSON as it is,
                          other text as a JSON string, an empty body as null)
  5xx                     an error: retried by the job's retry policy (kind http:5xx)
  408, 425, 429           retried the same way (kind http:4xx); a Retry-After
                          header (seconds or a date) delays the retry to it
  no answer in time       retried by the job's policy (kind http:timeout)
  connection error        retried by the job's policy (kind http:connection)
  any other status (4xx)  failed at once, without retry (kind http:4xx)

A request may take --http-timeout; by default the job's own timeout, else 30s.
Redirects are not followed. The worker runs until SIGINT or SIGTERM, then lets
running jobs finish within --shutdown-timeout. It waits for NATS if NATS is not
up when it starts, and reconnects forever, logging each try.

To run jobs in Go code instead, write a worker with the library (see
examples/goworker).`,
		Example: `  naq worker --target http://localhost:8080/jobs
  naq worker emails reports --target https://api.internal/naq --concurrency 50 --http-timeout 2m`,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runWorker(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "URL every job is POSTed to (required)")
	fl.IntVar(&f.concurrency, "concurrency", 10, "jobs delivered at once")
	fl.DurationVar(&f.httpTimeout, "http-timeout", 0, "limit of one request (default: the job's timeout, else 30s)")
	fl.DurationVar(&f.ackWait, "ack-wait", 0, "how long the server waits for a silent worker before redelivering (default 60s)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long running jobs may finish after SIGINT/SIGTERM")
	fl.StringVar(&f.name, "name", "naq-http-worker", "worker name (prefix of its id in 'naq workers')")
	fl.DurationVar(&f.heartbeatInterval, "heartbeat-interval", 15*time.Second, "how often the worker rewrites its record")
	fl.BoolVar(&f.resultArgs, "result-args", false, "keep each job's arguments in its result record, so a finished job's arguments can be read")
	f.observe.register(fl)
	f.flow.register(fl)
	return cmd
}

func (a *app) runWorker(cmd *cobra.Command, queues []string, f workerFlags) error {
	if f.target == "" {
		return usagef("naq worker needs --target URL: the endpoint every job is POSTed to")
	}
	u, err := url.Parse(f.target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--target %q is not an http:// or https:// URL", redact.URL(f.target))
	}
	if f.httpTimeout < 0 {
		return usagef("--http-timeout %s must not be negative", f.httpTimeout)
	}
	if f.concurrency < 1 {
		return usagef("--concurrency %d must be at least 1", f.concurrency)
	}
	if err := f.observe.check(); err != nil {
		return err
	}
	flowOpts, prioritized, err := f.flow.options()
	if err != nil {
		return usagef("%v", err)
	}
	if len(queues) == 0 && !prioritized {
		queues = []string{a.queue}
	}
	log := a.logger()
	target := newHTTPTarget(f.target, f.httpTimeout, f.concurrency, 0)
	opts := []worker.Option{
		worker.WithQueues(queues...),
		worker.WithConcurrency(f.concurrency),
		worker.WithAckWait(f.ackWait),
		worker.WithShutdownTimeout(f.shutdownTimeout),
		worker.WithHeartbeatInterval(f.heartbeatInterval),
		worker.WithName(f.name),
		worker.WithReplicas(a.replicas),
		worker.WithLogger(log),
		worker.WithFallback(target),
	}
	if f.resultArgs {
		opts = append(opts, worker.WithResultArgs())
	}
	obsOpts, serveMetrics := f.observe.options()
	opts = append(append(opts, obsOpts...), flowOpts...)
	// Check the configuration before connecting: every setting comes from a
	// flag or an argument, so an error is a usage error.
	if _, err := worker.New(nil, opts...); err != nil {
		return usagef("%v", err)
	}

	ctx := cmd.Context()
	nc, err := a.connectRetrying(ctx, log)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil // stopped (SIGINT, SIGTERM) before NATS came up
		}
		return err
	}
	defer nc.Close()
	log.Info("connected to NATS", "url", redact.URL(nc.ConnectedUrl()))
	nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
		if err != nil {
			log.Warn("lost the NATS connection; reconnecting", "err", err)
		}
	})
	// nats.go's own redaction keeps a token given as nats://token@host.
	nc.SetReconnectHandler(func(c *nats.Conn) { log.Info("reconnected to NATS", "url", redact.URL(c.ConnectedUrl())) })
	// A result, with its record around it, must fit in one message.
	target.maxResult = int(nc.MaxPayload()) - 4096
	w, err := worker.New(nc, opts...)
	if err != nil {
		return usagef("%v", err)
	}
	log.Info("delivering jobs over HTTP", "queues", w.Config().Queues, "target", target.shown)
	checkTarget(ctx, u, log)
	stopMetrics, err := serveMetrics(log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if err := w.Run(ctx); err != nil {
		if errors.Is(err, naq.ErrInvalidQueue) {
			return usagef("%v", err)
		}
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
