package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/redact"
)

// app holds what every command shares: streams, global flags, connections.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	url, user, password, token, creds string
	tlsCert, tlsKey, tlsCA            string
	queue                             string
	jsonOut                           bool
	logLevel                          string
	requestTimeout                    time.Duration
	replicas                          int
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "naq",
		Short: "Background jobs on NATS JetStream",
		Long: `naq runs and steers naq-go: background jobs on NATS JetStream.

Start a server with 'naq server' (nothing else to install), run workers with
'naq worker', enqueue with 'naq enqueue', and look at everything with 'naq job',
'naq queue', 'naq failed', 'naq schedule' and 'naq workers'.

Every command reads NAQ_NATS_URL (default nats://localhost:4222) and
NAQ_DEFAULT_QUEUE (default naq_default_queue); flags override them. Credentials
and TLS come from --user/--password, --token, --creds, --tls-ca, --tls-cert and
--tls-key, or the NAQ_NATS_* and NAQ_TLS_* variables naq.Dial reads too. Commands
that list or show take --json. Times are printed in RFC 3339, in UTC.
Destructive commands ask first: answer y on the terminal or on standard input
(echo y | naq ...), or pass --yes. Exit codes: 0 success, 1 failure, 2 wrong
usage. docs/configuration.md lists every flag and environment variable.`,
		Version:           version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.checkGlobalFlags(cmd) },
	}
	root.SetVersionTemplate("naq {{.Version}}\n")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	pf := root.PersistentFlags()
	a.connectionFlags(pf)
	pf.StringVarP(&a.queue, "queue", "q", naq.DefaultQueueFromEnv(), "queue (env NAQ_DEFAULT_QUEUE)")
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON instead of a table")
	pf.StringVar(&a.logLevel, "log-level", envOr("NAQ_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env NAQ_LOG_LEVEL)")
	pf.DurationVar(&a.requestTimeout, "request-timeout", 10*time.Second, "how long to wait for the server on each request")
	pf.IntVar(&a.replicas, "replicas", 0, "replicas of the streams and buckets naq creates, 1 to 5 (default: 3 on a cluster of three or more servers, else one per server); existing ones keep theirs")
	for _, c := range a.commands() {
		root.AddCommand(c)
	}
	return root
}

// commands lists the subcommands; each command group lives in its own file.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.serverCommand(),
		a.replicasCommand(),
		a.workerCommand(),
		a.enqueueCommand(),
		a.jobCommand(),
		a.workflowCommand(),
		a.queueCommand(),
		a.failedCommand(),
		a.scheduleCommand(),
		a.schedulerCommand(),
		a.workersCommand(),
		a.eventsCommand(),
		a.dashboardCommand(),
		a.benchCommand(),
		a.versionCommand(),
	}
}

// logLevel reads --log-level: debug, info, warn or error, in any case.
func logLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// checkGlobalFlags refuses global flags that cannot be right, before any
// command runs: a typo must not silently fall back to a default.
func (a *app) checkGlobalFlags(cmd *cobra.Command) error {
	if _, ok := logLevel(a.logLevel); !ok {
		return usagef("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	// 0, the default, lets naq choose; given on the command line, it is a
	// mistake.
	if f := cmd.Flag("replicas"); (f != nil && f.Changed && a.replicas < 1) || a.replicas < 0 || a.replicas > 5 {
		return usagef("--replicas %d: want 1 to 5 (NATS keeps at most 5 replicas), or leave it out to let naq choose", a.replicas)
	}
	if a.requestTimeout <= 0 {
		return usagef("--request-timeout %s must be positive", a.requestTimeout)
	}
	return a.checkURL(cmd)
}

// logger logs to stderr at the chosen level.
func (a *app) logger() *slog.Logger {
	lvl, _ := logLevel(a.logLevel)
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
}

// connect dials the NATS server with the global flags.
func (a *app) connect(ctx context.Context) (*nats.Conn, error) {
	opts := append(a.dialOptions(), naq.WithNATSOptions(nats.Timeout(a.requestTimeout)))
	// A command fails fast when no server answers; workers reconnect forever.
	opts = append(opts, naq.WithNATSOptions(nats.RetryOnFailedConnect(false), nats.ErrorHandler(a.natsErrors(a.logger()))))
	return naq.Dial(ctx, opts...)
}

// natsErrors logs the connection's asynchronous errors through the log
// (nats.go would print them raw on stderr). A watch whose server is gone for
// the moment reports "consumer not active" until the connection is back and
// the watch resumes by itself: worth a debug line only.
func (a *app) natsErrors(log *slog.Logger) nats.ErrHandler {
	return func(_ *nats.Conn, sub *nats.Subscription, err error) {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		if errors.Is(err, nats.ErrConsumerNotActive) {
			log.Debug("a watch is waiting for the NATS connection", "subject", subject, "err", err)
			return
		}
		log.Warn("NATS error", "subject", subject, "err", err)
	}
}

// connectRetrying dials like connect, but a server that is not up yet is
// waited for, forever, with a log line per try: the long-running commands
// (worker, scheduler) may start before NATS does, as under systemd or in a
// container group. It fails when ctx ends (nil, ctx.Err()), or at once when
// the server refuses the credentials.
func (a *app) connectRetrying(ctx context.Context, log *slog.Logger) (*nats.Conn, error) {
	wait := time.Second
	for {
		nc, err := a.connect(ctx)
		if err == nil {
			return nc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization") {
			return nil, err // the server is up and said no: waiting will not change that
		}
		log.Warn("cannot reach NATS yet; retrying until it is up", "url", redact.URL(a.serverURL()), "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// client connects and provisions a naq client; close the returned connection.
func (a *app) client(ctx context.Context) (*naq.Client, *nats.Conn, error) {
	nc, err := a.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Pending records make a job enqueued here known to 'naq job status' at
	// once, before a worker picks it up; one cheap write per enqueue.
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(a.logger()), naq.WithDefaultQueue(a.queue), naq.WithReplicas(a.replicas),
		naq.WithPendingRecords())
	if err != nil {
		nc.Close()
		var qe error = err
		if errors.Is(err, naq.ErrInvalidQueue) {
			return nil, nil, usagef("%v", qe)
		}
		return nil, nil, err
	}
	return c, nc, nil
}

// withTimeout bounds one command's work by the --request-timeout flag.
func (a *app) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.requestTimeout)
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}
