package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/envvar"
)

type dashboardFlags struct {
	addr, prefix          string
	token, user, password string
	readOnly              bool
}

func (a *app) dashboardCommand() *cobra.Command {
	var f dashboardFlags
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve the web dashboard: queues, jobs, failed jobs, schedules, workers",
		Long: `Serves the web dashboard on --addr until interrupted. It connects to NATS as every
command does (--url, NAQ_NATS_URL, ...).

It listens on loopback by default. Any other address needs a login: --web-token
(the browser opens the dashboard once with ?token=...) or --web-user with
--web-password (HTTP basic authentication); use TLS in front of it off a
trusted network. --read-only hides every action.`,
		Example: `  naq dashboard
  naq dashboard --addr 127.0.0.1:9000 --read-only
  NAQ_DASHBOARD_TOKEN=$(openssl rand -hex 24) naq dashboard --addr 0.0.0.0:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDashboard(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on; other than loopback it needs --web-token or --web-user")
	fl.StringVar(&f.prefix, "prefix", "", "serve under this path prefix (for a reverse proxy), for example /naq")
	fl.StringVar(&f.token, "web-token", "", "token the browser must present, 16 characters or more (env "+envvar.DashboardToken+")")
	fl.StringVar(&f.user, "web-user", "", "user for HTTP basic authentication, with --web-password (env "+envvar.DashboardUser+")")
	fl.StringVar(&f.password, "web-password", "", "password of --web-user (env "+envvar.DashboardPassword+")")
	fl.BoolVar(&f.readOnly, "read-only", false, "show everything, change nothing: no pause, requeue, cancel or delete")
	return cmd
}

func (a *app) runDashboard(cmd *cobra.Command, f dashboardFlags) error {
	or := func(v, env string) string {
		if v != "" {
			return v
		}
		return strings.TrimSpace(os.Getenv(env))
	}
	f.token, f.user, f.password = or(f.token, envvar.DashboardToken), or(f.user, envvar.DashboardUser), or(f.password, envvar.DashboardPassword)
	var opts []dashboard.Option
	switch {
	case f.token != "" && f.user != "":
		return usagef("give --web-token or --web-user, not both")
	case f.token != "":
		opts = append(opts, dashboard.WithToken(f.token))
	case f.user != "" || f.password != "":
		opts = append(opts, dashboard.WithBasicAuth(f.user, f.password))
	}
	if err := checkDashboardAddr(f.addr, len(opts) > 0); err != nil {
		return err
	}
	if f.readOnly {
		opts = append(opts, dashboard.ReadOnly())
	}
	if f.prefix != "" {
		opts = append(opts, dashboard.WithPrefix(f.prefix))
	}
	log := a.logger()
	opts = append(opts, dashboard.WithLogger(log))
	ctx := cmd.Context()
	connectCtx, cancel := a.withTimeout(ctx)
	c, nc, err := a.client(connectCtx)
	cancel()
	if err != nil {
		return err
	}
	defer nc.Close()
	h, err := dashboard.New(c, opts...)
	if err != nil {
		return usagef("%v", err)
	}
	defer h.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(strings.TrimRight(f.prefix, "/")+"/", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(a.stderr, "dashboard on http://%s%s/ ; Ctrl-C stops\n", ln.Addr(), strings.TrimRight(f.prefix, "/"))
	select {
	case err := <-done:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	// Live pages hold their event streams open: they end with the base
	// context above, so the shutdown is short.
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-done
	return nil
}

// checkDashboardAddr refuses to serve beyond loopback without a login.
func checkDashboardAddr(addr string, login bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--addr %q: %v", addr, err)
	}
	if login || isLoopback(host) {
		return nil
	}
	return usagef("--addr %s is not a loopback address: anyone who reaches it could pause queues and delete jobs; "+
		"set --web-token (or %s) or --web-user and --web-password, or listen on 127.0.0.1", addr, envvar.DashboardToken)
}
