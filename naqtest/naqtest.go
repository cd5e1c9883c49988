// Package naqtest helps test code that uses naq, against a real NATS server
// rather than a mock: New starts an embedded server in the test's temporary
// directory with a client and a worker on it; RunQueued runs the jobs waiting
// in the queues and returns their results; RequireEnqueued and
// RequireNotEnqueued assert what code under test enqueued, reading the queues
// without taking jobs from them.
//
//	func TestSignUp(t *testing.T) {
//		env := naqtest.New(t, naqtest.WithWorkerOptions(worker.WithQueues("mail")))
//		env.Worker.Handle("mail:welcome", worker.Typed(sendWelcome))
//		if err := signUp(t.Context(), env.Client, "ana@example.com"); err != nil {
//			t.Fatal(err)
//		}
//		naqtest.RequireEnqueued(t, env.Client, "mail:welcome", &naqtest.Match{Queue: "mail"})
//		results := env.RunQueued(t.Context()) // the welcome mail's result
//		...
//	}
package naqtest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// Env is one test's naq: a fresh embedded server with a client and a worker
// on it, all closed when the test ends. Register handlers on Worker before
// RunQueued or Start.
type Env struct {
	Server *embedded.Server
	Conn   *nats.Conn
	Client *naq.Client
	Worker *worker.Worker

	t  testing.TB
	mu sync.Mutex
	// stop ends the worker's current run and waits for it; nil when the
	// worker is not running.
	stop func()
}

type config struct {
	server []embedded.Option
	client []naq.ClientOption
	worker []worker.Option
}

// Option configures New.
type Option func(*config)

// WithServerOptions passes options to embedded.Start.
func WithServerOptions(opts ...embedded.Option) Option {
	return func(c *config) { c.server = append(c.server, opts...) }
}

// WithClientOptions passes options to naq.NewClient, after New's own (a
// silent logger).
func WithClientOptions(opts ...naq.ClientOption) Option {
	return func(c *config) { c.client = append(c.client, opts...) }
}

// WithWorkerOptions passes options to worker.New, after New's own (a silent
// logger, and a pull wait of 200 ms so that a worker started for RunQueued
// notices new jobs quickly). A worker that consumes queues other than the
// default one needs WithQueues here.
func WithWorkerOptions(opts ...worker.Option) Option {
	return func(c *config) { c.worker = append(c.worker, opts...) }
}

// New starts an embedded server in t.TempDir(), connects to it in process and
// makes a client and a worker on the connection. It fails the test if any of
// them cannot be made, and closes them all when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := embedded.Start(t.TempDir(), cfg.server...)
	if err != nil {
		t.Fatalf("naqtest: start embedded server: %v", err)
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		t.Fatalf("naqtest: connect: %v", err)
	}
	e := &Env{Server: srv, Conn: nc, t: t}
	// Cleanups run last-registered first: the worker stops before the
	// connection closes, and the connection before the server.
	t.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
	})
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	clientOpts := append([]naq.ClientOption{naq.WithLogger(quiet)}, cfg.client...)
	if e.Client, err = naq.NewClient(ctx, nc, clientOpts...); err != nil {
		t.Fatalf("naqtest: client: %v", err)
	}
	t.Cleanup(e.Client.Close)
	workerOpts := append([]worker.Option{worker.WithLogger(quiet), worker.WithPollWait(200 * time.Millisecond)}, cfg.worker...)
	if e.Worker, err = worker.New(nc, workerOpts...); err != nil {
		t.Fatalf("naqtest: worker: %v", err)
	}
	t.Cleanup(e.stopWorker)
	return e
}

// Start runs the worker in the background until the test ends, for tests
// whose code waits for its jobs itself. The first time the worker runs, Start
// returns once it consumes its queues; jobs enqueued before that wait for it.
// Register handlers first.
func (e *Env) Start() {
	e.t.Helper()
	if !e.startWorker() {
		e.t.Fatal("naqtest: Start: the worker is already running")
	}
}

// startWorker runs the worker unless it runs already, and reports whether it
// started it.
func (e *Env) startWorker() bool {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stop != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Worker.Run(ctx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("naqtest: worker: %v", err)
			}
		})
	}
	select {
	case <-e.Worker.Ready():
		return true
	case err := <-done:
		cancel()
		e.stop = nil
		e.t.Fatalf("naqtest: the worker did not start: %v", err)
	case <-time.After(30 * time.Second):
		e.t.Fatal("naqtest: the worker did not start within 30 s")
	}
	return false
}

// stopWorker stops the worker if it runs and waits until Run has returned:
// by then every write of the jobs it finished is stored.
func (e *Env) stopWorker() {
	e.mu.Lock()
	stop := e.stop
	e.stop = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}
