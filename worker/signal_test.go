package worker_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

const signalChildEnv = "NAQ_SIGNALTEST_CHILD"

// Run leaves signals to the program: a program that does not handle SIGINT
// is ended by it, as any Go program is, even while a worker runs (Run used
// to catch it and return nil, which took the choice away from programs with
// a shutdown of their own).
func TestRunLeavesSignalsToTheProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalChild$", "-test.count=1")
	// The child dies without its cleanups: its temporary files go in ours.
	cmd.Env = append(os.Environ(), signalChildEnv+"=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "worker ready" {
				ready <- true
				break
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the child ended before its worker was ready")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the child's worker was not ready within 60 s")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("the child exited with %v; want it ended by SIGINT", err)
		}
		ws, _ := exit.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Fatalf("the child exited with %v; want it ended by SIGINT", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not end within 30 s of SIGINT")
	}
}

// TestSignalChild is the child of TestRunLeavesSignalsToTheProgram: a worker
// whose context never ends, in a program that does not handle signals.
func TestSignalChild(t *testing.T) {
	if os.Getenv(signalChildEnv) == "" {
		t.Skip("runs only as the child of TestRunLeavesSignalsToTheProgram")
	}
	_, nc := testutil.Server(t)
	w, err := worker.New(nc, worker.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-w.Ready()
		os.Stdout.WriteString("worker ready\n")
	}()
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("worker returned\n")
}
