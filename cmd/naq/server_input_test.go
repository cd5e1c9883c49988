package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// A --host or --metrics address that cannot be right is refused as wrong
// usage (exit 2), naming the flag as it is spelled, before anything starts.
func TestServerBadAddressIsUsageError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // each in stderr
		not  string   // never in stderr
	}{
		{[]string{"server", "--metrics", "bad"}, []string{`--metrics "bad"`, "missing port"}, "--metrics-addr"},
		{[]string{"server", "--metrics", "bad host:9465"}, []string{`--metrics "bad host:9465"`, "invalid host"}, ""},
		{[]string{"server", "--host", "bad host"}, []string{`--host "bad host" is not a valid host`}, "authentication"},
		{[]string{"server", "--host", ""}, []string{"is not a valid host"}, "authentication"},
		{[]string{"server", "--monitor-port", "8222", "--monitor-host", "bad host"}, []string{`--monitor-host "bad host" is not a valid host`}, ""},
		{[]string{"worker", "--target", "http://localhost:1/", "--metrics-addr", "bad"}, []string{`--metrics-addr "bad"`}, ""},
	} {
		if tc.args[0] == "server" {
			tc.args = append([]string{"server", "--port", "-1", "--store", t.TempDir()}, tc.args[1:]...)
		}
		checkUsageError(t, []string{"NAQ_NATS_URL=nats://127.0.0.1:1"}, tc.args, tc.want, tc.not)
	}
}

// A --metrics address that is taken fails the server before it starts, so
// nothing announces a server that is not there.
func TestServerMetricsAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	stdout, stderr, code := runNaq(t, nil, "server", "--metrics", addr)
	if code != exitFailure || !strings.HasPrefix(stderr, "naq: --metrics: ") || strings.Contains(stderr, "--metrics-addr") {
		t.Errorf("exit %d, stderr %q; want 1 and a line about --metrics", code, stderr)
	}
	if stdout != "" || strings.Contains(stderr, "server ready") || strings.Contains(stderr, "Starting") {
		t.Errorf("announced a server that failed to start: stdout %q, stderr %q", stdout, stderr)
	}
}
