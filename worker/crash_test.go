package worker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
)

// TestCrash kills a worker process with SIGKILL in the middle of a backlog and
// lets a second worker process finish it. Every job must end completed, none
// may be lost, and only the jobs the dead worker had in flight may run twice.
// The worker processes are this test binary re-executed in child mode (see
// TestMain); each appends a line per job execution to its own file.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test with worker processes; skipped with -short")
	}
	const (
		total     = 5000
		killAfter = 400 // executions of worker A before it is killed
	)
	srv, nc := testutil.Server(t, embedded.WithListen("127.0.0.1", -1))
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	client, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	js := client.JetStream()

	jobs := make([]*naq.Job, total)
	ids := make(map[string]bool, total)
	for i := range jobs {
		j, err := naq.NewJob(crashJobName, naq.Args{i}, naq.Queue(crashQueue))
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = j
		ids[j.ID] = true
	}
	if err := client.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")

	// Worker A: run until it has executed a few hundred jobs, then SIGKILL it.
	a := startCrashChild(t, "crash-a", srv.ClientURL(), fileA)
	crashWaitFor(t, ctx, a, "worker A to execute "+strconv.Itoa(killAfter)+" jobs", func() bool {
		return crashCountLines(t, fileA) >= killAfter
	})
	a.kill()
	ranA := crashCountLines(t, fileA)
	t.Logf("worker A killed after %d executions (%s)", ranA, time.Since(start).Round(time.Millisecond))
	if ranA >= total {
		t.Fatalf("worker A executed all %d jobs before it was killed; the test proves nothing", ranA)
	}

	// Worker B finishes the queue, including A's jobs once their ack wait ends.
	b := startCrashChild(t, "crash-b", srv.ClientURL(), fileB)
	results, err := js.KeyValue(ctx, layout.ResultsBucket)
	if err != nil {
		t.Fatal(err)
	}
	crashWaitFor(t, ctx, b, "a result for every job", func() bool {
		st, err := results.Status(ctx)
		if err != nil {
			t.Fatalf("results bucket status: %v", err)
		}
		return st.Values() >= total
	})
	b.stop()
	t.Logf("worker B finished the queue (%s)", time.Since(start).Round(time.Millisecond))

	// The jobs stream empties once the last acks are processed.
	stream, err := js.Stream(ctx, layout.JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	var left uint64
	crashWaitFor(t, ctx, nil, "the jobs stream to be empty", func() bool {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatalf("stream info: %v", err)
		}
		left = info.State.Msgs
		return left == 0
	})
	cons, err := stream.Consumer(ctx, layout.ConsumerName(crashQueue))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.NumPending != 0 || ci.NumAckPending != 0 {
		t.Errorf("consumer: %d pending, %d awaiting ack; want none", ci.NumPending, ci.NumAckPending)
	}

	for _, j := range jobs {
		res, err := client.Result(ctx, j.ID)
		if err != nil {
			t.Errorf("result of %s: %v", j.ID, err)
			continue
		}
		if res.Status != naq.StateCompleted {
			t.Errorf("job %s: status %q (error %v), want completed", j.ID, res.Status, res.Err())
		}
	}

	// Executions: every job at least once, at most once per process, and twice
	// only for the jobs A had in flight when it died (at most its concurrency).
	execA, execB := crashReadExecutions(t, fileA, ids), crashReadExecutions(t, fileB, ids)
	var missing, twice []string
	for id := range ids {
		na, nb := execA[id], execB[id]
		switch {
		case na+nb == 0:
			missing = append(missing, id)
		case na > 1 || nb > 1:
			t.Errorf("job %s ran %d times in worker A and %d times in worker B; want at most once in each", id, na, nb)
		case na+nb > 1:
			twice = append(twice, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(twice)
	if len(missing) > 0 {
		t.Errorf("%d jobs never ran, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	t.Logf("executions: worker A %d, worker B %d; %d of %d jobs ran twice: %v",
		crashSum(execA), crashSum(execB), len(twice), total, twice)
	if len(twice) > crashConc {
		t.Errorf("%d jobs ran twice; only the %d jobs worker A had in flight may", len(twice), crashConc)
	}
	for _, id := range twice {
		if res, err := client.Result(ctx, id); err == nil {
			t.Logf("ran twice: %s attempts=%d worker=%s", id, res.Attempts, res.WorkerID)
		}
	}
}

// crashProc is a worker child process.
type crashProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer // read only after done
	done   chan struct{}
	err    error
}

// startCrashChild starts a worker process that appends the id of every job it
// runs to file. It is killed when the test ends, and its output logged if the
// test failed.
func startCrashChild(t *testing.T, name, url, file string) *crashProc {
	t.Helper()
	return startChild(t, name, crashChildEnv, file, crashURLEnv, url, crashNameEnv, name)
}

// startChild starts the test binary again as a child process with the
// environment variables given as name, value pairs.
func startChild(t *testing.T, name string, env ...string) *crashProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &crashProc{t: t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(exe)
	p.cmd.Env = os.Environ()
	for i := 0; i+1 < len(env); i += 2 {
		p.cmd.Env = append(p.cmd.Env, env[i]+"="+env[i+1])
	}
	p.cmd.Stdout = &p.stderr
	p.cmd.Stderr = &p.stderr
	if os.Getenv("NAQ_TEST_LOG") != "" {
		p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	}
	// The child stops when this pipe closes, so it never outlives the test.
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("output of %s:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *crashProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	_ = p.stdin.Close()
}

// stop asks the worker to shut down gracefully and checks that it exited cleanly.
func (p *crashProc) stop() {
	p.t.Helper()
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		p.t.Fatalf("%s did not stop", p.name)
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
}

func (p *crashProc) exited() <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.done
}

// crashWaitFor polls cond until it holds; it fails the test if ctx ends first or if
// p (when not nil) exits.
func crashWaitFor(t *testing.T, ctx context.Context, p *crashProc, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-p.exited():
			t.Fatalf("%s exited (%v) while waiting for %s", p.name, p.err, what)
		case <-tick.C:
		}
	}
}

func crashCountLines(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}

// crashReadExecutions counts the executions of each job recorded in file.
func crashReadExecutions(t *testing.T, file string, ids map[string]bool) map[string]int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		id, complete := strings.CutSuffix(line, "\n")
		if !complete || !ids[id] {
			t.Errorf("%s: unexpected record %q", filepath.Base(file), line)
			continue
		}
		n[id]++
	}
	return n
}

func crashSum(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
