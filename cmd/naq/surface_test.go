package main

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Item: one surface: --version, global flags checked before anything runs,
// --wait-timeout only with --wait, show commands as "key: value" lines, one
// time format (RFC 3339, UTC) in tables and show commands alike.
func TestSurfaceIsConsistent(t *testing.T) {
	dead := []string{"NAQ_NATS_URL=nats://127.0.0.1:1"} // refused before connecting
	if out, errOut, code := runNaq(t, nil, "--version"); code != 0 || strings.TrimSpace(out) != "naq dev" {
		t.Errorf("naq --version: exit %d %q %s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"queue", "list", "--log-level", "bogus"}, "want debug, info, warn or error"},
		{[]string{"queue", "list", "--replicas", "0"}, "--replicas 0: want 1 to 5"},
		{[]string{"worker", "--target", "http://x", "--replicas", "7"}, "--replicas 7"},
		{[]string{"queue", "list", "--request-timeout", "0s"}, "must be positive"},
		{[]string{"enqueue", "f", "--wait-timeout", "1s"}, "--wait-timeout goes with --wait"},
		{[]string{"enqueue", "--file", "x.jsonl", "--wait"}, "--wait does not go with --file"},
		{[]string{"enqueue", "f", "--file", "x.jsonl"}, "NAME or --file, not both"},
		{[]string{"enqueue"}, "needs a job NAME"},
	} {
		_, errOut, code := runNaq(t, dead, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("naq %v: exit %d (want 2), stderr should say %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
	// Levels in any case are fine.
	if _, errOut, code := runNaq(t, dead, "queue", "list", "--log-level", "DEBUG", "--request-timeout", "1s"); code != exitFailure {
		t.Errorf("--log-level DEBUG: exit %d: %s", code, errOut)
	}

	e := newOpsEnv(t)
	id := strings.TrimSpace(e.ok(t, "enqueue", "t:job", "-q", "shown"))
	e.ok(t, "schedule", "add", "t:job", "--every", "1h", "--id", "hourly")
	rfc3339 := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	oldStyle := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
	kv := regexp.MustCompile(`(?m)^job id: +` + id + `$`)
	for _, args := range [][]string{{"job", "status", id}, {"schedule", "show", "hourly"}, {"schedule", "list"}} {
		out := e.ok(t, args...)
		if !rfc3339.MatchString(out) || oldStyle.MatchString(out) {
			t.Errorf("naq %v: times not in RFC 3339:\n%s", args, out)
		}
	}
	if out := e.ok(t, "job", "status", id); !kv.MatchString(out) || strings.Contains(out, "FIELD") {
		t.Errorf("job status is not key: value lines like failed show and schedule show:\n%s", out)
	}
}

// Item: the server's log is one format: no ASCII-art lines with escaped
// backslashes, no empty messages.
func TestServerBannerIsPlainLog(t *testing.T) {
	p, err := launchServer("--port", "-1", "--store", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	opsWaitFor(t, 10*time.Second, "the ready line", func() bool { return strings.Contains(p.stderr.String(), "naq server ready") })
	log := p.stderr.String()
	if strings.Contains(log, `\\`) || strings.Contains(log, `msg=""`) || strings.Contains(log, "msg=---") {
		t.Errorf("banner noise in the server log:\n%s", log)
	}
	for _, want := range []string{"Starting nats-server", "Version:", "Server is ready"} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lost %q:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a server log line that is not a log record: %q", line)
		}
	}
}

// Item: nats.go's asynchronous errors go through the log, not raw onto
// stderr; "consumer not active" while the connection is down is a debug line.
func TestNATSErrorsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	a := newApp(nil, &buf, &buf)
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := a.natsErrors(log)
	h(nil, &nats.Subscription{Subject: "$KV.x.>"}, nats.ErrConsumerNotActive)
	if buf.Len() != 0 {
		t.Errorf("consumer not active at info level: %q", buf.String())
	}
	h(nil, nil, errors.New("nats: slow consumer, messages dropped"))
	if out := buf.String(); !strings.HasPrefix(out, "time=") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "slow consumer") {
		t.Errorf("an async error is not a log record: %q", out)
	}
}
