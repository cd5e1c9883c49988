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
		return serveMetrics(f.metricsAddr, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), log)
	}
}

// serveMetrics serves h at http://addr/metrics until stop is called. An
// address that cannot be listened on is an error at start, not a log line
// later.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
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
	}, nil
}

// serveQueueMetrics serves the queue gauges of the server's JetStream (see
// package naqprom) at http://addr/metrics, through an in-process connection.
func serveQueueMetrics(srv *embedded.Server, log *slog.Logger, f serverFlags) (stop func(), err error) {
	var auth []nats.Option // the metrics' own connection logs in as clients must
	if f.authUser != "" {
		auth = append(auth, nats.UserInfo(f.authUser, f.authPass))
	}
	if f.authToken != "" {
		auth = append(auth, nats.Token(f.authToken))
	}
	addr := f.metrics
	nc, err := srv.Connect(auth...)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	stopHTTP, err := serveMetrics(addr, naqprom.Handler(js, naqprom.WithLogger(log)), log)
	if err != nil {
		nc.Close()
		return nil, err
	}
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
