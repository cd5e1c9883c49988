package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/redact"
)

// serverFlags are the flags of `naq server`. Its --auth-* flags say what the
// server demands of clients; the global --user/--password/--token say how a
// naq command connects to a server.
type serverFlags struct {
	store       string
	host        string
	port        int
	monitorPort int
	authUser    string
	authPass    string
	authToken   string
	name        string
	clusterName string
	clusterPort int
	routes      string
	syncAlways  bool
	securityFlags
	metrics string
}

func (a *app) serverCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a NATS JetStream server for naq (nothing else to install)",
		Long: `Run a NATS server with JetStream, storing jobs under --store, so that
workers, the scheduler, your programs and other naq commands can share it.

It prints the URL to use (NAQ_NATS_URL=...) and runs until SIGINT or SIGTERM.
Data survives a restart with the same --store; only one server may use a store
directory at a time.

By default it listens on 127.0.0.1 only. --host 0.0.0.0 accepts other
machines, and then the server refuses to start without client
authentication (--auth-token, --auth-user/--auth-password, or --tls-verify)
unless you pass --insecure.

--auth-user/--auth-password or --auth-token make the server require them from
every client. They are not the global --user/--password/--token flags, which
are what a naq command uses to connect to a server. --tls-cert/--tls-key make
clients and routes use TLS; --tls-verify with --tls-ca also requires client
certificates. The monitoring port (--monitor-port) listens on --monitor-host,
127.0.0.1 by default: it has no authentication.

Three servers form a JetStream cluster (streams and buckets a naq process
creates there get three replicas by default): give each the same
--cluster-name, its own --name, --port, --cluster-port and --store, and
--routes to the other two. Give them all the same --cluster-password (or
NAQ_CLUSTER_PASSWORD) so that no other server can join; it is required when
the nodes listen beyond loopback or clients must authenticate. See
docs/security.md.`,
		Example: `  naq server --store ./naq-data
  naq server --host 0.0.0.0 --auth-token s3cret --tls-cert server.pem --tls-key server-key.pem
  NAQ_CLUSTER_PASSWORD=r0utes naq server --name n1 --port 4222 --store ./n1 --cluster-name naq \
    --cluster-port 6222 --routes nats-route://127.0.0.1:6223,nats-route://127.0.0.1:6224`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runServer(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "./naq-data", "directory of the JetStream file store")
	fl.StringVar(&f.host, "host", "127.0.0.1", "interface to listen on (0.0.0.0: all)")
	fl.IntVar(&f.port, "port", 4222, "client port (-1: any free port)")
	fl.IntVar(&f.monitorPort, "monitor-port", 0, "HTTP monitoring port (/varz, /jsz, ...; 0: off)")
	fl.StringVar(&f.authUser, "auth-user", "", "require clients to log in as this user (with --auth-password)")
	fl.StringVar(&f.authPass, "auth-password", "", "password that --auth-user must give")
	fl.StringVar(&f.authToken, "auth-token", "", "require clients to present this token")
	fl.StringVar(&f.name, "name", "", "server name, unique in a cluster (default: naq-<hostname>-<port>)")
	fl.StringVar(&f.clusterName, "cluster-name", "", "join a JetStream cluster of this name")
	fl.IntVar(&f.clusterPort, "cluster-port", 6222, "port for routes from the other cluster nodes (with --cluster-name)")
	fl.StringVar(&f.routes, "routes", "", "other cluster nodes, comma-separated nats-route://host:port")
	fl.BoolVar(&f.syncAlways, "sync-always", false, "fsync every write (survives power loss; much slower)")
	f.securityFlags.register(fl)
	fl.StringVar(&f.metrics, "metrics", "", "serve queue gauges for Prometheus on this address, at /metrics (for example 127.0.0.1:9465)")
	return cmd
}

// check rejects flag combinations that cannot be right.
func (f *serverFlags) check(cmd *cobra.Command) ([]string, error) {
	if strings.TrimSpace(f.store) == "" {
		return nil, usagef("--store must name a directory")
	}
	if !validHost(f.host) {
		return nil, usagef("--host %q is not a valid host: want an IP address or a host name (127.0.0.1: this machine only; 0.0.0.0: all interfaces)", f.host)
	}
	if f.metrics != "" {
		if err := checkListenAddr("metrics", f.metrics); err != nil {
			return nil, err
		}
	}
	if f.port < -1 || f.port > 65535 || f.port == 0 {
		return nil, usagef("--port %d: want 1-65535, or -1 for any free port", f.port)
	}
	if f.monitorPort < 0 || f.monitorPort > 65535 {
		return nil, usagef("--monitor-port %d: want 1-65535, or 0 for off", f.monitorPort)
	}
	if (f.authUser == "") != (f.authPass == "") {
		return nil, usagef("--auth-user and --auth-password go together")
	}
	if f.authToken != "" && f.authUser != "" {
		return nil, usagef("use either --auth-token or --auth-user/--auth-password, not both")
	}
	if f.clusterName == "" {
		for _, n := range []string{"cluster-port", "routes", "cluster-user", "cluster-password"} {
			if cmd.Flags().Changed(n) {
				return nil, usagef("--%s needs --cluster-name", n)
			}
		}
		return nil, nil
	}
	if f.clusterPort < 1 || f.clusterPort > 65535 {
		return nil, usagef("--cluster-port %d: want 1-65535", f.clusterPort)
	}
	if f.port == -1 {
		return nil, usagef("a cluster node needs a fixed --port")
	}
	var routes []string
	for _, r := range strings.Split(f.routes, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats-route" || u.Port() == "" {
			return nil, usagef("--routes: %q is not nats-route://host:port", redact.URL(r))
		}
		routes = append(routes, r)
	}
	if len(routes) == 0 {
		return nil, usagef("a cluster node needs --routes to the other nodes (nats-route://host:port, comma-separated)")
	}
	return routes, nil
}

// runServer runs the server until cmd's context (SIGINT, SIGTERM) ends.
func (a *app) runServer(cmd *cobra.Command, f serverFlags) error {
	ctx := cmd.Context()
	routes, err := f.check(cmd)
	if err != nil {
		return err
	}
	if err := f.checkSecurity(); err != nil {
		return err
	}
	log := a.logger()
	if err := checkPort(f.host, f.port, "client"); err != nil {
		return err
	}
	if f.monitorPort != 0 {
		if err := checkPort(f.monitorHost, f.monitorPort, "monitor"); err != nil {
			return err
		}
	}
	if f.clusterName != "" {
		if err := checkPort(f.host, f.clusterPort, "cluster"); err != nil {
			return err
		}
	}
	// The metrics address is taken before the server starts, so that a
	// taken one fails the command before it announces anything.
	var metricsLn net.Listener
	if f.metrics != "" {
		if metricsLn, err = listenMetrics("metrics", f.metrics); err != nil {
			return err
		}
		defer metricsLn.Close() // a no-op once served and stopped
	}
	unlock, err := lockStore(f.store)
	if err != nil {
		return err
	}
	defer unlock()

	name := f.name
	if name == "" {
		name = defaultServerName(f.port)
	}
	opts := []embedded.Option{
		embedded.WithName(name),
		embedded.WithListen(f.host, f.port),
		embedded.WithLogger(slog.New(bannerFilter{log.Handler()})),
		embedded.WithReadyTimeout(30 * time.Second),
	}
	if f.monitorPort != 0 {
		opts = append(opts, embedded.WithMonitor(f.monitorPort))
	}
	if f.authUser != "" {
		opts = append(opts, embedded.WithUserPassword(f.authUser, f.authPass))
	}
	if f.authToken != "" {
		opts = append(opts, embedded.WithToken(f.authToken))
	}
	if f.clusterName != "" {
		opts = append(opts, embedded.WithCluster(f.clusterName, f.host, f.clusterPort, routes...))
	}
	if f.syncAlways {
		opts = append(opts, embedded.WithSyncAlways())
	}
	opts = append(opts, f.securityOptions()...)
	f.warnOpen(log)
	srv, err := embedded.Start(f.store, opts...)
	if err != nil {
		return fmt.Errorf("server: %s", strings.TrimPrefix(err.Error(), "embedded: "))
	}
	if metricsLn != nil {
		stopMetrics, err := serveQueueMetrics(srv, log, f, metricsLn)
		if err != nil {
			srv.Shutdown()
			return err
		}
		defer stopMetrics()
	}
	clientURL := printableURL(srv.ClientURL())
	fmt.Fprintf(a.stdout, "naq server listening: NAQ_NATS_URL=%s\n", clientURL)
	attrs := []any{"name", name, "url", clientURL, "store", srv.StoreDir()}
	if f.monitorPort != 0 {
		attrs = append(attrs, "monitor", fmt.Sprintf("http://%s", net.JoinHostPort(printableHost(f.monitorHost), strconv.Itoa(f.monitorPort))))
	}
	if f.clusterName != "" {
		attrs = append(attrs, "cluster", f.clusterName, "cluster_port", f.clusterPort, "routes", redact.URL(strings.Join(routes, ",")))
	}
	switch {
	case f.authToken != "":
		attrs = append(attrs, "auth", "token (clients: --token or NAQ_NATS_TOKEN)")
	case f.authUser != "":
		attrs = append(attrs, "auth", "user/password (clients: --user/--password or NAQ_NATS_USER/NAQ_NATS_PASSWORD)")
	}
	attrs = append(attrs, f.securityAttrs()...)
	log.Info("naq server ready", attrs...)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("naq server shutting down")
			srv.Shutdown()
			log.Info("naq server stopped")
			return nil
		case <-tick.C:
			if !srv.NATS().Running() {
				srv.Shutdown()
				return errors.New("server: stopped unexpectedly (see the log above)")
			}
		}
	}
}

// checkPort fails with one clear line when host:port is already taken.
func checkPort(host string, port int, what string) error {
	if port <= 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("server: %s port %s is in use (another naq server? pick another with --port/--cluster-port/--monitor-port)", what, addr)
		}
		return fmt.Errorf("server: cannot listen on %s (%s port): %v", addr, what, err)
	}
	return l.Close()
}

// lockStore creates the store directory and claims it with a pid file, so two
// servers never share one store. A pid file left by a crashed server is taken
// over. The returned function releases the claim.
func lockStore(dir string) (func(), error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("server: store directory %q: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("server: cannot create store directory %s: %v", abs, errors.Unwrap(err))
	}
	pidFile := filepath.Join(abs, "naq-server.pid")
	mine := strconv.Itoa(os.Getpid())
	for attempt := 0; attempt < 2; attempt++ {
		fh, err := os.OpenFile(pidFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := fh.WriteString(mine + "\n")
			cerr := fh.Close()
			if werr != nil || cerr != nil {
				os.Remove(pidFile)
				return nil, fmt.Errorf("server: store directory %s is not writable: %v", abs, errors.Join(werr, cerr))
			}
			return func() {
				if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == mine {
					os.Remove(pidFile)
				}
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("server: store directory %s is not writable: %v", abs, errors.Unwrap(err))
		}
		b, _ := os.ReadFile(pidFile)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && processAlive(pid) {
			return nil, fmt.Errorf("server: store directory %s is in use by another naq server (pid %d); stop it or pick another --store", abs, pid)
		}
		// Left behind by a server that died: take it over.
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("server: store directory %s is not writable: %v", abs, errors.Unwrap(err))
		}
	}
	return nil, fmt.Errorf("server: store directory %s: another server is starting on it", abs)
}

// processAlive reports whether pid is a running process other than this one.
func processAlive(pid int) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// defaultServerName is naq-<hostname>-<port>, unique among the nodes of a
// cluster whether they share a machine or not.
func defaultServerName(port int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, host)
	if port < 0 {
		return "naq-" + host
	}
	return fmt.Sprintf("naq-%s-%d", host, port)
}

// printableHost turns an any-interface listen address into one a client on
// this machine can dial.
func printableHost(h string) string {
	if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return h
}

func printableURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Host = net.JoinHostPort(printableHost(p.Hostname()), p.Port())
	return p.String()
}
