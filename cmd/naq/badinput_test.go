package main

import (
	"strings"
	"testing"
	"time"
)

// Bad input is refused as wrong usage (exit 2), with a line that names what
// is wrong, before the command connects: no server listens here.
func TestBadInputIsUsageError(t *testing.T) {
	noServer := []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want []string // each in stderr
		not  string   // never in stderr
	}{
		{[]string{"events", "tail", "--type", "bogus"}, []string{`--type "bogus"`, "enqueued", "dead_lettered", "worker_stopped"}, ""},
		{[]string{"events", "tail", "--type", "failed", "--type", "Failed"}, []string{`"Failed"`}, ""},
		{[]string{"queue", "pause", "q1", "--for", "0s"}, []string{"--for 0s must be positive", "naq queue resume"}, ""},
		{[]string{"queue", "pause", "q1", "--for", "-1s"}, []string{"--for -1s must be positive"}, ""},
		{[]string{"queue", "pause", "q1", "--for", "0s", "--until", future}, []string{"not both"}, ""},
		{[]string{"--url", "not a url", "queue", "list"}, []string{`--url "not a url"`, "nats://host:port"}, "naq server"},
		{[]string{"queue", "list", "--url", ""}, []string{"--url is empty", "NAQ_NATS_URL"}, ""},
		{[]string{"queue", "list", "--url", " , "}, []string{"--url is empty"}, ""},
		{[]string{"queue", "list", "--url", "nats://127.0.0.1:1,nats://ana:s3cret pw@host:4222"}, []string{"xxxxx@host"}, "s3cret"},
		{[]string{"failed", "show", "0"}, []string{`invalid record sequence "0"`}, "job 0"},
		{[]string{"failed", "show", "bad id!"}, []string{"neither a record sequence number nor a job id"}, ""},
	} {
		checkUsageError(t, noServer, tc.args, tc.want, tc.not)
	}
}

// --url given decides, over the environment; left out, the environment
// still applies.
func TestURLFlagOverridesEnvironment(t *testing.T) {
	e := newOpsEnv(t)
	if _, stderr, code := runNaq(t, []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}, "queue", "list", "--url", e.url); code != 0 {
		t.Errorf("--url %s over a dead NAQ_NATS_URL: exit %d\n%s", e.url, code, stderr)
	}
	if _, stderr, code := runNaq(t, []string{"NAQ_NATS_URL=" + e.url}, "queue", "list"); code != 0 {
		t.Errorf("NAQ_NATS_URL alone: exit %d\n%s", code, stderr)
	}
}

// checkUsageError runs naq with args and checks that it refused them as wrong
// usage (exit 2) before printing anything, its stderr holding each of want
// and never not.
func checkUsageError(t *testing.T, env, args, want []string, not string) {
	t.Helper()
	stdout, stderr, code := runNaq(t, env, args...)
	if code != exitUsage {
		t.Errorf("naq %q: exit %d, want 2; stderr:\n%s", args, code, stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("naq %q: stderr does not say %q:\n%s", args, w, stderr)
		}
	}
	if not != "" && strings.Contains(stderr, not) {
		t.Errorf("naq %q: stderr says %q:\n%s", args, not, stderr)
	}
	if stdout != "" {
		t.Errorf("naq %q printed %q", args, stdout)
	}
}
