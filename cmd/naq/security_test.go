package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
)

func TestServerRefusesToListenOpen(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	route := "nats-route://127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--host", "0.0.0.0"}, "no client authentication is set"},
		{[]string{"--host", "0.0.0.0", "--auth-token", "t", "--cluster-name", "c", "--routes", route}, "--cluster-password"},
		// Client authentication with open routes is the hole this closes,
		// even on loopback.
		{[]string{"--auth-token", "t", "--cluster-name", "c", "--routes", route}, "--cluster-password"},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-ca", "ca.pem"}, "need the server's own certificate"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-verify"}, "--tls-verify needs --tls-ca"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--cluster-name", "c", "--routes", route, "--cluster-password", "p"}, "needs --tls-ca"},
		{[]string{"--cluster-name", "c"}, "needs --routes"},
		{[]string{"--cluster-password", "p"}, "--cluster-password needs --cluster-name"},
	} {
		args := append([]string{"server", "--port", port, "--store", t.TempDir()}, tc.args...)
		stdout, stderr, code := runNaq(t, nil, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("naq %v: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, tc.want)
		}
		if strings.Contains(tc.want, "authentication") && !strings.Contains(stderr, "--insecure") {
			t.Errorf("naq %v: the refusal does not name --insecure: %q", args, stderr)
		}
		if stdout != "" {
			t.Errorf("naq %v printed %q", args, stdout)
		}
	}
}

func TestServerInsecureListensOpenMonitorStaysOnLoopback(t *testing.T) {
	port, mport := freePort(t), freePort(t)
	p, err := launchServer("--host", "0.0.0.0", "--insecure", "--port", strconv.Itoa(port),
		"--monitor-port", strconv.Itoa(mport), "--store", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if want := fmt.Sprintf("nats://127.0.0.1:%d", port); p.url != want {
		t.Errorf("url = %q, want %q", p.url, want)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "no client authentication"); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the open port:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := dialTest(t, ctx, p.url); err != nil {
		t.Fatalf("connect over 127.0.0.1: %v", err)
	}

	// The monitor says where it listens, and so does the kernel.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/varz", mport))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var varz struct {
		Host     string `json:"host"`
		HTTPHost string `json:"http_host"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&varz); err != nil {
		t.Fatal(err)
	}
	if varz.HTTPHost != "127.0.0.1" || varz.Host != "0.0.0.0" {
		t.Errorf("varz: host %q, http_host %q; want 0.0.0.0 and 127.0.0.1", varz.Host, varz.HTTPHost)
	}
	if addrs, ok := listenAddrs(t); ok {
		if got := addrs[mport]; got != "0100007F" {
			t.Errorf("the monitor port listens on %q (hex), want 0100007F (127.0.0.1)", got)
		}
		if got := addrs[port]; strings.Trim(got, "0") != "" {
			t.Errorf("the client port listens on %q (hex), want all zeros (all interfaces)", got)
		}
	}
}

// listenAddrs reads the kernel's tables of listening sockets: port → local
// address in hex (0100007F: 127.0.0.1; all zeros: every interface, IPv4 or
// IPv6). ok is false where /proc/net/tcp does not exist.
func listenAddrs(t *testing.T) (map[int]string, bool) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, false
	}
	if b6, err := os.ReadFile("/proc/net/tcp6"); err == nil {
		b = append(b, b6...)
	}
	out := make(map[int]string)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		host, hexPort, _ := strings.Cut(f[1], ":")
		p, err := strconv.ParseInt(hexPort, 16, 32)
		if err != nil {
			t.Fatalf("/proc/net/tcp: %q", line)
		}
		out[int(p)] = host
	}
	return out, true
}

func TestServerTLS(t *testing.T) {
	f := testutil.WriteTLSFiles(t)
	url := startServer(t, "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--tls-ca", f.CA, "--tls-verify")
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("url = %q, want tls://127.0.0.1:<port>", url)
	}
	tlsFlags := []string{"--tls-ca", f.CA, "--tls-cert", f.ClientCert, "--tls-key", f.ClientKey}

	// The CLI, with flags and with the environment.
	stdout, stderr, code := runNaq(t, nil, append([]string{"enqueue", "tasks:echo", "--args", `["over tls"]`, "--url", url}, tlsFlags...)...)
	if code != 0 {
		t.Fatalf("naq enqueue with TLS flags: exit %d, stderr:\n%s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	env := []string{"NAQ_NATS_URL=" + url, "NAQ_TLS_CA=" + f.CA, "NAQ_TLS_CERT=" + f.ClientCert, "NAQ_TLS_KEY=" + f.ClientKey}
	if _, stderr, code := runNaq(t, env, "queue", "list"); code != 0 {
		t.Fatalf("naq queue list with NAQ_TLS_*: exit %d, stderr:\n%s", code, stderr)
	}
	for _, args := range [][]string{
		{"queue", "list", "--url", url},                   // no TLS settings
		{"queue", "list", "--url", url, "--tls-ca", f.CA}, // no client certificate
	} {
		if _, stderr, code := runNaq(t, nil, args...); code != exitFailure || !strings.Contains(stderr, "TLS") {
			t.Errorf("naq %v: exit %d, stderr %q; want exit 1 and a word about TLS", args, code, stderr)
		}
	}

	// naq.Dial, and the job enqueued by the CLI runs over TLS.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := dialTest(t, ctx, url, naq.WithTLSFiles(f.ClientCert, f.ClientKey, f.CA))
	if err != nil {
		t.Fatalf("naq.Dial with TLS files: %v", err)
	}
	if _, err := dialTest(t, ctx, url); err == nil {
		t.Error("naq.Dial without TLS settings connected")
	}
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	runTestWorker(t, nc)
	if r := awaitJobResult(t, c, id); string(r.Value) != `"over tls"` {
		t.Errorf("result = %s %s", r.Status, r.Value)
	}
	testutil.PlainRefused(t, strings.TrimPrefix(url, "tls://"))
}

// recordLog keeps the messages of a logger, for the test to search.
type recordLog struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (r *recordLog) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *recordLog) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recordLog) WithGroup(string) slog.Handler      { return r }

func (r *recordLog) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// TestSecuredClusterRefusesStrangers runs three `naq server` processes with a
// client token and a cluster password, then lets a stranger's server dial
// their route ports (once without credentials, once with a guessed password)
// and a stranger's client connect without the token: all are refused, the
// cluster keeps its routes, and the stranger never sees the job.
func TestSecuredClusterRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	names := []string{"n1", "n2", "n3"}
	ports, cports := make([]int, 3), make([]int, 3)
	for i := range names {
		ports[i], cports[i] = freePort(t), freePort(t)
	}
	mport := freePort(t)
	var urls []string
	var procs []*serverProc
	for i, name := range names {
		var routes []string
		for k := range names {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", cports[k]))
			}
		}
		args := []string{"--name", name, "--port", strconv.Itoa(ports[i]), "--store", t.TempDir(),
			"--auth-token", "client-t0ken",
			"--cluster-name", "naq-sec", "--cluster-port", strconv.Itoa(cports[i]), "--routes", strings.Join(routes, ",")}
		// n3 takes the cluster password from the environment: without it,
		// it would refuse to start, and with another one never join.
		var env []string
		if i < 2 {
			args = append(args, "--cluster-password", "r0ute-pw")
		} else {
			env = []string{"NAQ_CLUSTER_PASSWORD=r0ute-pw"}
		}
		if i == 0 {
			args = append(args, "--monitor-port", strconv.Itoa(mport))
		}
		p, err := launchServerEnv(env, args...)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(p.stop)
		urls = append(urls, p.url)
		procs = append(procs, p)
	}
	url := strings.Join(urls, ",")
	t.Cleanup(func() {
		for i, p := range procs {
			if out := p.stderr.String(); strings.Contains(out, "r0ute-pw") || strings.Contains(out, "client-t0ken") {
				t.Errorf("the log of %s shows a secret:\n%s", names[i], out)
			}
		}
	})

	// A stranger's client without the token is refused, by Dial and the CLI.
	if _, err := dialTest(t, ctx, url); err == nil {
		t.Fatal("a client without the token connected")
	}
	if _, stderr, code := runNaq(t, nil, "queue", "list", "--url", url); code != exitFailure {
		t.Errorf("naq queue list without the token: exit %d, stderr %q", code, stderr)
	}

	nc, err := dialTest(t, ctx, url, naq.WithToken("client-t0ken"))
	if err != nil {
		t.Fatal(err)
	}
	var c *naq.Client
	for { // the cluster is ready once R3 provisioning works
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		c, err = naq.NewClient(actx, nc, naq.WithReplicas(3))
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no JetStream cluster: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, err := c.Enqueue(ctx, "cards:charge", "4111-secret-card"); err != nil {
		t.Fatal(err)
	}

	// The stranger: same cluster name, routes to n1 without credentials and
	// to n2 with a guessed password.
	log := &recordLog{}
	stranger, err := embedded.Start(t.TempDir(), embedded.WithName("stranger"), embedded.WithListen("127.0.0.1", -1),
		embedded.WithLogger(slog.New(log)), embedded.WithLimits(64<<20, 256<<20), embedded.WithReadyTimeout(30*time.Second),
		embedded.WithCluster("naq-sec", "127.0.0.1", -1,
			fmt.Sprintf("nats-route://127.0.0.1:%d", cports[0]), fmt.Sprintf("nats-route://naq:guess@127.0.0.1:%d", cports[1])))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stranger.Shutdown)
	for log.count("Authorization Violation") < 2 {
		if ctx.Err() != nil {
			t.Fatalf("the stranger was never refused (%d refusals)", log.count("Authorization Violation"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", mport))
	if err != nil {
		t.Fatal(err)
	}
	var routez struct {
		Routes []struct {
			RemoteName string `json:"remote_name"`
		} `json:"routes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&routez)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routez.Routes {
		if r.RemoteName != "n2" && r.RemoteName != "n3" {
			t.Errorf("n1 has a route to %q", r.RemoteName)
		}
	}

	// The stranger sees no stream and no message of the cluster's, nor the
	// cluster one of its (its own count of routes is no test: it holds each
	// refused attempt as a route until the refusal closes it); the cluster
	// still holds the job.
	snc, err := stranger.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer snc.Close()
	crossed := make(chan string, 4)
	for _, sub := range []struct {
		nc   *nats.Conn
		side string
	}{{snc, "the stranger"}, {nc, "the cluster"}} {
		if _, err := sub.nc.Subscribe("crossing.>", func(m *nats.Msg) {
			if !strings.HasSuffix(m.Subject, "."+strings.ReplaceAll(sub.side, " ", "_")) {
				crossed <- sub.side + " got " + m.Subject
			}
		}); err != nil {
			t.Fatal(err)
		}
		if err := sub.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	_ = snc.Publish("crossing.the_stranger", nil)
	_ = nc.Publish("crossing.the_cluster", nil)
	select {
	case g := <-crossed:
		t.Errorf("a message crossed: %s", g)
	case <-time.After(time.Second):
	}
	js, err := jetstream.New(snc)
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = js.Stream(sctx, "naq_jobs")
	scancel()
	if err == nil {
		t.Error("the stranger can look up naq_jobs")
	}
	stream, err := c.JetStream().Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("naq_jobs holds %d messages, want the 1 job", n)
	}
}

func TestHelpPrintsNoSecretFromTheEnvironment(t *testing.T) {
	env := []string{"NAQ_NATS_URL=nats://ana:leaked-pw@127.0.0.1:1", "NAQ_NATS_PASSWORD=leaked-pw",
		"NAQ_NATS_TOKEN=leaked-pw", "NAQ_CLUSTER_PASSWORD=leaked-pw"}
	for _, args := range [][]string{{"--help"}, {"server", "--help"}, {"queue", "list", "--help"}} {
		stdout, stderr, code := runNaq(t, env, args...)
		if code != 0 || strings.Contains(stdout+stderr, "leaked-pw") {
			t.Errorf("naq %v: exit %d, output shows the secret:\n%s%s", args, code, stdout, stderr)
		}
	}
	// The connection error names the server, masked.
	_, stderr, code := runNaq(t, env, "queue", "list")
	if code != exitFailure || strings.Contains(stderr, "leaked-pw") || !strings.Contains(stderr, "ana:xxxxx@127.0.0.1:1") {
		t.Errorf("naq queue list against a closed port: exit %d, stderr %q", code, stderr)
	}
}
