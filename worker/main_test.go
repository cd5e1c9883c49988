package worker_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// Environment of a crash-test child: the test binary re-executes itself with
// crashChildEnv set to the file the child appends one line per job execution to.
const (
	crashChildEnv   = "NAQ_CRASHTEST_CHILD"
	crashURLEnv     = "NAQ_CRASHTEST_URL"
	crashNameEnv    = "NAQ_CRASHTEST_NAME"
	crashQueue      = "crash"
	crashJobName    = "crash:work"
	crashConc       = 8
	crashAckWait    = 2 * time.Second
	crashChildStart = 20 * time.Second
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	if os.Getenv(rateChildEnv) != "" {
		os.Exit(rateChild())
	}
	os.Exit(m.Run())
}

// crashChild is a worker process for TestCrash: it consumes queue "crash" over
// TCP and, for every execution of a job, appends the job id to its file before
// doing a few milliseconds of work. It stops gracefully when its stdin closes
// (the parent stopping it, or the parent dying).
func crashChild() int {
	c, err := childStart(os.Getenv(crashChildEnv), os.Getenv(crashURLEnv), crashChildStart)
	if err != nil {
		return childFail("crash", "%v", err)
	}
	defer c.close()
	fail := func(format string, args ...any) int { return childFail("crash", format, args...) }
	f, ctx, nc := c.file, c.ctx, c.nc

	w, err := worker.New(nc,
		worker.WithName(os.Getenv(crashNameEnv)),
		worker.WithQueues(crashQueue),
		worker.WithConcurrency(crashConc),
		worker.WithAckWait(crashAckWait),
		worker.WithPollWait(200*time.Millisecond),
		worker.WithShutdownTimeout(5*time.Second),
		worker.WithLogger(testutil.Logger()),
	)
	if err != nil {
		return fail("%v", err)
	}
	w.HandleFunc(crashJobName, func(ctx context.Context, job *naq.Job) (any, error) {
		// One write(2) per execution with O_APPEND: lines of concurrent
		// handlers never interleave, and a SIGKILL cannot split one.
		if _, err := f.Write([]byte(job.ID + "\n")); err != nil {
			return nil, err
		}
		time.Sleep(time.Millisecond + rand.N(2*time.Millisecond))
		return "ok", nil
	})
	if err := w.Run(ctx); err != nil {
		return fail("run: %v", err)
	}
	if err := nc.Flush(); err != nil {
		return fail("flush: %v", err)
	}
	return 0
}

// child is what a worker process started by a test holds: the file it
// records executions in, a context cancelled when its stdin closes (the
// parent stopping it, or the parent dying), and its connection.
type child struct {
	file   *os.File
	ctx    context.Context
	cancel context.CancelFunc
	nc     *nats.Conn
}

// childStart, in the child process, opens the record file, watches stdin and dials url within
// dialWait.
func childStart(recordFile, url string, dialWait time.Duration) (*child, error) {
	f, err := os.OpenFile(recordFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open record file: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	dctx, dcancel := context.WithTimeout(ctx, dialWait)
	nc, err := naq.Dial(dctx, naq.WithURL(url))
	dcancel()
	if err != nil {
		cancel()
		f.Close()
		return nil, err
	}
	return &child{file: f, ctx: ctx, cancel: cancel, nc: nc}, nil
}

func (c *child) close() {
	c.nc.Close()
	c.cancel()
	c.file.Close()
}

func childFail(role, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, role+" child: "+format+"\n", args...)
	return 2
}
