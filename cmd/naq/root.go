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
	timeout                           time.Duration
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
that list or show take --json. Exit codes: 0 success, 1 failure, 2 wrong usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	pf := root.PersistentFlags()
	a.connectionFlags(pf)
	pf.StringVarP(&a.queue, "queue", "q", naq.DefaultQueueFromEnv(), "queue (env NAQ_DEFAULT_QUEUE)")
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON instead of a table")
	pf.StringVar(&a.logLevel, "log-level", envOr("NAQ_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env NAQ_LOG_LEVEL)")
	pf.DurationVar(&a.timeout, "timeout", 10*time.Second, "how long to wait for the server on each request")
	pf.IntVar(&a.replicas, "replicas", 0, "replicas of the streams and buckets naq creates (default: 3 on a cluster of three or more servers, else one per server); existing ones keep theirs")
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
		a.queueCommand(),
		a.failedCommand(),
		a.scheduleCommand(),
		a.schedulerCommand(),
		a.workersCommand(),
		a.eventsCommand(),
		a.benchCommand(),
		a.versionCommand(),
	}
}

// logger logs to stderr at the chosen level.
func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(a.logLevel))); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
}

// connect dials the NATS server with the global flags.
func (a *app) connect(ctx context.Context) (*nats.Conn, error) {
	opts := append(a.dialOptions(), naq.WithNATSOptions(nats.Timeout(a.timeout)))
	// A command fails fast when no server answers; workers reconnect forever.
	opts = append(opts, naq.WithNATSOptions(nats.RetryOnFailedConnect(false)))
	return naq.Dial(ctx, opts...)
}

// client connects and provisions a naq client; close the returned connection.
func (a *app) client(ctx context.Context) (*naq.Client, *nats.Conn, error) {
	nc, err := a.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(a.logger()), naq.WithDefaultQueue(a.queue), naq.WithReplicas(a.replicas))
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

// withTimeout bounds one command's work by the --timeout flag.
func (a *app) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}
