package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// env is a real embedded server with a client on it.
type env struct {
	nc     *nats.Conn
	client *naq.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{nc: nc, client: c}
}

// newBenchEnv is newEnv for benchmarks.
func newBenchEnv(b *testing.B) *env {
	b.Helper()
	_, nc := testutil.Server(b)
	c, err := naq.NewClient(context.Background(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	return &env{nc: nc, client: c}
}

// startWorker runs a worker until the test ends (or stop is called) and
// checks that Run returned nil.
func (e *env) startWorker(t *testing.T, register func(w *worker.Worker), opts ...worker.Option) (w *worker.Worker, stop func()) {
	t.Helper()
	opts = append([]worker.Option{worker.WithLogger(testutil.Logger()), worker.WithPollWait(200 * time.Millisecond)}, opts...)
	w, err := worker.New(e.nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	register(w)
	return w, workertest.Run(t, w)
}

func (e *env) wait(t *testing.T, id string) *naq.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.client.Wait(ctx, id)
	if res == nil {
		t.Fatalf("wait for %s: %v", id, err)
	}
	return res
}
