package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// naqBin is the naq binary built once for this package's tests.
var naqBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "naq-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "naq tests: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	naqBin = filepath.Join(dir, "naq")
	build := exec.Command("go", "build", "-o", naqBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "naq tests: go build:", err)
		return 1
	}
	return m.Run()
}

// naqEnv is the environment of a naq process: the test's own, without NAQ_*
// variables, plus env.
func naqEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NAQ_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// runNaq runs the naq binary with args (env is added to the environment, after
// NAQ_* variables of the test process are removed) and returns its output and
// exit code. A run longer than two minutes is killed and fails the test.
func runNaq(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runNaqStdin(t, env, nil, args...)
}

// runNaqStdin is runNaq with stdin read from in (nil: /dev/null).
func runNaqStdin(t *testing.T, env []string, in io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, naqBin, args...)
	cmd.Env = naqEnv(env)
	cmd.Stdin = in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run naq %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("naq %v: still running after 2 minutes", args)
	}
	return out.String(), errb.String(), code
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts `naq server` on a free port with a temporary store
// (args come after --port and --store, so they may override both), waits
// until it prints its URL, and stops it when the test ends.
func startServer(t *testing.T, args ...string) (url string) {
	t.Helper()
	all := append([]string{"--port", strconv.Itoa(freePort(t)), "--store", t.TempDir()}, args...)
	p, err := launchServer(all...)
	if err != nil {
		t.Fatalf("start naq server: %v", err)
	}
	t.Cleanup(func() { p.stop() })
	return p.url
}

// serverProc is a running `naq server` process.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, valid after done
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// launchServer runs `naq server args...` and waits (up to 30 s) for the line
// with its URL. On failure the process is gone and the error carries its
// stderr.
func launchServer(args ...string) (*serverProc, error) { return launchServerEnv(nil, args...) }

// launchServerEnv is launchServer with env added to the environment.
func launchServerEnv(env []string, args ...string) (*serverProc, error) {
	cmd := exec.Command(naqBin, append([]string{"server"}, args...)...)
	cmd.Env = naqEnv(env)
	p := &serverProc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urlc := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.Write([]byte(line + "\n"))
			if _, u, ok := strings.Cut(line, "NAQ_NATS_URL="); ok {
				select {
				case urlc <- strings.TrimSpace(u):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		<-copied
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.url = <-urlc:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("naq server exited (%v) before printing its URL; stderr:\n%s", p.err, p.stderr.String())
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("naq server printed no URL within 30s; stderr:\n%s", p.stderr.String())
	}
}

// stop sends SIGTERM and waits (up to 15 s, then SIGKILL) for the exit.
func (p *serverProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *serverProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exitCode is the process's exit code once it has exited (-1 if killed).
func (p *serverProc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}
