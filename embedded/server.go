// Package embedded runs a JetStream-enabled NATS server inside the process,
// with its file store in a directory of your choice, so naq needs nothing
// installed. Data survives a restart with the same directory.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/internal/redact"
)

// Server is a running embedded NATS server.
type Server struct {
	ns  *server.Server
	url string
	dir string
}

type config struct {
	dir          string
	name         string
	host         string
	port         int
	listen       bool
	monitorPort  int
	monitorHost  string
	logger       *slog.Logger
	user, pass   string
	token        string
	clusterName  string
	clusterHost  string
	clusterPort  int
	routes       []string
	maxMemory    int64
	maxStore     int64
	syncAlways   bool
	readyTimeout time.Duration
	tls          *TLSFiles
	routeUser    string
	routePass    string
}

// Option configures Start.
type Option func(*config)

// WithName sets the server name (unique within a cluster).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithListen opens a TCP listener on host:port so other processes and the nats
// CLI can connect. Port -1 picks a free port; read it back with ClientURL.
func WithListen(host string, port int) Option {
	return func(c *config) { c.listen, c.host, c.port = true, host, port }
}

// WithMonitor opens the HTTP monitoring endpoint (/varz, /jsz, ...) on port,
// on 127.0.0.1 unless WithMonitorHost says otherwise.
func WithMonitor(port int) Option { return func(c *config) { c.monitorPort = port } }

// WithLogger bridges the server's log to l. Without it the server is silent.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithUserPassword requires clients to authenticate with user and password.
func WithUserPassword(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithToken requires clients to authenticate with token.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithCluster joins a JetStream cluster called name, listening for routes on
// host:port and dialling the given route URLs (nats-route://host:port).
func WithCluster(name, host string, port int, routes ...string) Option {
	return func(c *config) {
		c.clusterName, c.clusterHost, c.clusterPort, c.routes = name, host, port, routes
	}
}

// WithLimits caps JetStream memory and file storage (bytes; 0 keeps the
// server's default). Set both when several servers share one process.
func WithLimits(maxMemory, maxStore int64) Option {
	return func(c *config) { c.maxMemory, c.maxStore = maxMemory, maxStore }
}

// WithSyncAlways makes the file store fsync every write: jobs then survive a
// power loss, at a large cost in throughput. By default data survives a process
// crash but is flushed to disk every two minutes.
func WithSyncAlways() Option { return func(c *config) { c.syncAlways = true } }

// WithReadyTimeout bounds how long Start waits for the server (default 10 s).
func WithReadyTimeout(d time.Duration) Option { return func(c *config) { c.readyTimeout = d } }

// Start starts a server whose JetStream file store lives under dir.
func Start(dir string, opts ...Option) (*Server, error) {
	if dir == "" {
		return nil, errors.New("embedded: a store directory is required (the server would otherwise share $TMPDIR/nats with every process)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: store directory %q: %w", dir, err)
	}
	c := config{dir: abs, name: "naq", readyTimeout: 10 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	so, err := c.serverOptions()
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("embedded: configure server: %w", err)
	}
	if c.logger != nil {
		ns.SetLogger(slogBridge{c.logger.With("component", "nats-server")}, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(c.readyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded: server not ready after %s (is the port in use, or the store directory %s locked by another server?)", c.readyTimeout, abs)
	}
	s := &Server{ns: ns, dir: abs}
	if c.listen {
		s.url = ns.ClientURL()
	}
	return s, nil
}

func (c config) serverOptions() (*server.Options, error) {
	so := &server.Options{
		ServerName:         c.name,
		JetStream:          true,
		StoreDir:           c.dir,
		NoSigs:             true,
		DontListen:         !c.listen,
		Host:               c.host,
		Port:               c.port,
		HTTPPort:           c.monitorPort,
		Username:           c.user,
		Password:           c.pass,
		Authorization:      c.token,
		JetStreamMaxMemory: c.maxMemory,
		JetStreamMaxStore:  c.maxStore,
		SyncAlways:         c.syncAlways,
		// Every queue is a consumer of naq_jobs, and nats-server otherwise
		// refuses a stream's 1,001st consumer: a worker on 1,000 queues
		// could not start (docs/scaling.md).
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: -1},
	}
	if c.monitorPort != 0 {
		// Loopback whatever the client listener: the endpoint has no
		// authentication and describes the server and its clients.
		so.HTTPHost = c.monitorHost
		if so.HTTPHost == "" {
			so.HTTPHost = "127.0.0.1"
		}
	}
	if c.clusterName != "" {
		if !c.listen {
			return nil, errors.New("embedded: a cluster node needs a client listener (WithListen)")
		}
		if len(c.routes) == 0 {
			// nats-server would start, log a fatal error and never be ready.
			return nil, errors.New("embedded: a JetStream cluster node needs routes to the other nodes")
		}
		so.Cluster = server.ClusterOpts{Name: c.clusterName, Host: c.clusterHost, Port: c.clusterPort}
		for _, r := range c.routes {
			u, err := url.Parse(r)
			if err != nil {
				// The parse error quotes the URL, credentials and all.
				var ue *url.Error
				if errors.As(err, &ue) {
					err = ue.Err
				}
				return nil, fmt.Errorf("embedded: route %q: %w", redact.URL(r), err)
			}
			so.Routes = append(so.Routes, u)
		}
	}
	if err := c.secure(so); err != nil {
		return nil, err
	}
	return so, nil
}

// Connect opens an in-process client connection (no TCP, about twice as fast
// for request/reply). Extra nats options (a name, handlers) are applied.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{nats.InProcessServer(s.ns), nats.Name("naq")}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("embedded: connect in-process: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL other processes connect to, or "" when the server has no
// TCP listener.
func (s *Server) ClientURL() string { return s.url }

// StoreDir is the directory given to Start, made absolute.
func (s *Server) StoreDir() string { return s.dir }

// NATS exposes the underlying server for advanced use (cluster tests, stepdowns).
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it has stopped. Drain client
// connections first so acks in flight are not lost.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
