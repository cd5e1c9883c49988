package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/naqprom"
	"github.com/naqgo/naq/worker"
)

// observeFlags are the worker's --events and --metrics-addr.
type observeFlags struct {
	events      bool
	metricsAddr string
}

func (f *observeFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.events, "events", false, "publish lifecycle events (see 'naq events')")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address, at /metrics (for example 127.0.0.1:9464)")
}

// options returns the worker options the flags ask for, and a function that
// starts the metrics endpoint (a no-op without --metrics-addr).
func (f *observeFlags) options() ([]worker.Option, func(*slog.Logger) (stop func(), err error)) {
	var opts []worker.Option
	if f.events {
		opts = append(opts, worker.WithEvents())
	}
	if f.metricsAddr == "" {
		return opts, func(*slog.Logger) (func(), error) { return func() {}, nil }
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts = append(opts, worker.WithMetrics(reg))
	return opts, func(log *slog.Logger) (func(), error) {
		ln, err := listenMetrics("metrics-addr", f.metricsAddr)
		if err != nil {
			return nil, err
		}
		return serveMetrics(ln, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), log), nil
	}
}

// check refuses a --metrics-addr that is not host:port, before the worker
// connects.
func (f *observeFlags) check() error {
	if f.metricsAddr == "" {
		return nil
	}
	return checkListenAddr("metrics-addr", f.metricsAddr)
}

// checkListenAddr refuses, as a usage error, a --flag address that is not
// host:port (the host may be empty: every interface).
func checkListenAddr(flag, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && host != "" && !validHost(host) {
		err = fmt.Errorf("invalid host %q", host)
	}
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return usagef("--%s %q: %v: want host:port, for example 127.0.0.1:9464", flag, addr, err)
	}
	return nil
}

// listenMetrics takes the --flag address; an address that cannot be
// listened on is an error at start, not a log line later.
func listenMetrics(flag, addr string) (net.Listener, error) {
	if err := checkListenAddr(flag, addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return ln, nil
}

// serveMetrics serves h at /metrics on ln until stop is called.
func serveMetrics(ln net.Listener, h http.Handler, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}

// serveQueueMetrics serves the queue gauges of the server's JetStream (see
// package naqprom) at /metrics on ln (the --metrics address), through an
// in-process connection.
func serveQueueMetrics(srv *embedded.Server, log *slog.Logger, f serverFlags, ln net.Listener) (stop func(), err error) {
	var auth []nats.Option // the metrics' own connection logs in as clients must
	if f.authUser != "" {
		auth = append(auth, nats.UserInfo(f.authUser, f.authPass))
	}
	if f.authToken != "" {
		auth = append(auth, nats.Token(f.authToken))
	}
	nc, err := srv.Connect(auth...)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	stopHTTP := serveMetrics(ln, naqprom.Handler(js, naqprom.WithLogger(log)), log)
	return func() { stopHTTP(); nc.Close() }, nil
}

// checkTarget says at start, at warn, when the HTTP target does not accept
// connections: the worker runs anyway (the target may come up later), but
// its jobs fail with kind http:connection and are retried until it does.
func checkTarget(ctx context.Context, u *url.URL, log *slog.Logger) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		log.Warn("the HTTP target cannot be reached; its jobs will fail with kind http:connection and be retried by their policy",
			"target", u.Redacted(), "err", err)
		return
	}
	_ = conn.Close()
}
