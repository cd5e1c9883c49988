package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startLongRunning starts `naq args...` (worker or scheduler) and returns its
// stderr and a function that stops it with SIGTERM and returns its exit code.
func startLongRunning(t *testing.T, env []string, args ...string) (stderr *syncBuffer, stop func() int) {
	t.Helper()
	cmd := exec.Command(naqBin, args...)
	cmd.Env = naqEnv(env)
	stderr = &syncBuffer{}
	cmd.Stderr, cmd.Stdout = stderr, &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return stderr, func() int {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("naq %s did not stop on SIGTERM; stderr:\n%s", args[0], stderr)
		}
		return cmd.ProcessState.ExitCode()
	}
}

// Item: the worker and the scheduler started before NATS keep trying, say so
// in their log, and get to work once NATS is up; SIGTERM while waiting is a
// clean stop.
func TestWorkerAndSchedulerWaitForNATS(t *testing.T) {
	port := freePort(t)
	env := []string{"NAQ_NATS_URL=nats://127.0.0.1:" + strconv.Itoa(port)}
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`"done"`)) }))
	t.Cleanup(ep.Close)
	target := ep.URL
	wErr, stopWorker := startLongRunning(t, env, "worker", "--target", target)
	sErr, stopSched := startLongRunning(t, env, "scheduler", "--lock-ttl", "2s")
	for _, p := range []struct {
		name string
		buf  *syncBuffer
	}{{"worker", wErr}, {"scheduler", sErr}} {
		opsWaitFor(t, 20*time.Second, p.name+"'s retry line", func() bool {
			return strings.Contains(p.buf.String(), "cannot reach NATS yet; retrying until it is up")
		})
	}
	// The scheduler stops cleanly while still waiting.
	if code := stopSched(); code != 0 {
		t.Errorf("scheduler stopped while waiting for NATS: exit %d\n%s", code, sErr)
	}
	startServer(t, "--port", strconv.Itoa(port))
	opsWaitFor(t, 30*time.Second, "the worker to connect", func() bool {
		return strings.Contains(wErr.String(), "connected to NATS")
	})
	out, errOut, code := runNaq(t, env, "enqueue", "any:job", "--wait", "--wait-timeout", "60s")
	if code != 0 {
		t.Fatalf("a job on the late worker: exit %d\n%s\n%s\nworker:\n%s", code, out, errOut, wErr)
	}
	if code := stopWorker(); code != 0 {
		t.Errorf("worker exit %d\n%s", code, wErr)
	}
}

// A server that is up and refuses the credentials is not waited for: the
// worker says so and exits 1.
func TestWorkerWrongTokenFailsAtOnce(t *testing.T) {
	url := startServer(t, "--auth-token", "right")
	_, errOut, code := runNaq(t, []string{"NAQ_NATS_URL=" + url, "NAQ_NATS_TOKEN=wrong"}, "worker", "--target", "http://127.0.0.1:1/")
	if code != 1 || !strings.Contains(errOut, "check the user, password, token or credentials") || strings.Contains(errOut, "retrying") {
		t.Errorf("worker with a wrong token: exit %d\n%s", code, errOut)
	}
}
