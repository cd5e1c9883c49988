package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Beyond loopback, naq dashboard refuses to start without a login.
func TestDashboardRefusesOpenAddressWithoutLogin(t *testing.T) {
	e := newOpsEnv(t)
	errOut := e.exits(t, 2, "dashboard", "--addr", "0.0.0.0:0")
	if !strings.Contains(errOut, "not a loopback address") || !strings.Contains(errOut, "--web-token") {
		t.Errorf("stderr:\n%s", errOut)
	}
	errOut = e.exits(t, 2, "dashboard", "--addr", "0.0.0.0:0", "--web-token", "short")
	if !strings.Contains(errOut, "at least 16 characters") {
		t.Errorf("short token, stderr:\n%s", errOut)
	}
}

// naq dashboard serves the pages of the server it connects to, asks for
// its token, and stops on SIGINT.
func TestDashboardServesAndStops(t *testing.T) {
	e := newOpsEnv(t)
	enqueueN(t, e, "visible", 2)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(naqBin, "dashboard", "--addr", addr, "--prefix", "/naq")
	cmd.Env = naqEnv(append(e.env, "NAQ_DASHBOARD_TOKEN=0123456789abcdef0123"))
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	get := func(path string, auth bool) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	opsWaitFor(t, 20*time.Second, "the dashboard to answer", func() bool { code, _ := get("/naq/", true); return code == 200 })
	if code, body := get("/naq/", true); !strings.Contains(body, "visible") {
		t.Errorf("overview: %d\n%s", code, body)
	}
	if code, _ := get("/naq/", false); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGINT\n%s", stderr.String())
	}
}
