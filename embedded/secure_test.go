package embedded_test

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// routeTo is the route URL of srv's cluster port, with userinfo ("" for none).
func routeTo(srv *embedded.Server, userinfo string) string {
	return fmt.Sprintf("nats-route://%s127.0.0.1:%d", userinfo, srv.NATS().ClusterAddr().Port)
}

// node starts one cluster node called name on a free client port and the
// given route port (-1: any free one), dialling routes; it stops when the
// test ends.
func node(t *testing.T, name string, routePort int, routes []string, opts ...embedded.Option) (*embedded.Server, *recordingHandler) {
	t.Helper()
	h := &recordingHandler{}
	all := append([]embedded.Option{
		embedded.WithName(name), embedded.WithListen("127.0.0.1", -1), embedded.WithLogger(slog.New(h)),
		embedded.WithCluster("secured", "127.0.0.1", routePort, routes...), embedded.WithLimits(64<<20, 256<<20),
		embedded.WithReadyTimeout(30 * time.Second),
	}, opts...)
	srv := start(t, t.TempDir(), all...)
	t.Cleanup(srv.Shutdown)
	return srv, h
}

// logged reports whether a record of h contains s.
func logged(h *recordingHandler, s string) bool {
	for _, r := range h.snapshot() {
		if strings.Contains(r.Message, s) {
			return true
		}
	}
	return false
}

func TestClusterAuthRefusesStranger(t *testing.T) {
	auth := embedded.WithClusterAuth("naq", "r0ute-secret")
	pa, pb := freePort(t), freePort(t)
	a, _ := node(t, "a", pa, []string{fmt.Sprintf("nats-route://127.0.0.1:%d", pb)}, auth)
	b, _ := node(t, "b", pb, []string{routeTo(a, "")}, auth)
	testutil.Eventually(t, 30*time.Second, "the two nodes with the password form a cluster", func() bool {
		return a.NATS().NumRoutes() > 0 && b.NATS().NumRoutes() > 0
	})

	// One stranger dials a without credentials, another b with a wrong password.
	s1, h1 := node(t, "stranger1", -1, []string{routeTo(a, "")})
	s2, h2 := node(t, "stranger2", -1, []string{routeTo(b, "naq:guess@")})
	testutil.Eventually(t, 30*time.Second, "both strangers are told they are not authorized", func() bool {
		return logged(h1, "Authorization Violation") && logged(h2, "Authorization Violation")
	})
	// A stranger's own count of routes is no test: it keeps dialling, and
	// holds each attempt as a route from the node's greeting until the
	// refusal closes it. What must not happen is a message crossing over.
	noCrossing(t, a, s1, s2)
	noCrossing(t, b, s1, s2)
	peersOnly(t, a, "b")
	peersOnly(t, b, "a")
}

// noCrossing publishes on member and on each stranger, and checks that
// nothing reaches the other side (subscribers on all of them, flushed first).
func noCrossing(t *testing.T, member *embedded.Server, strangers ...*embedded.Server) {
	t.Helper()
	conn := func(srv *embedded.Server) *nats.Conn {
		nc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	got := make(chan string, 16)
	listen := func(nc *nats.Conn, name string) {
		if _, err := nc.Subscribe("crossing.>", func(m *nats.Msg) { got <- name + " got " + m.Subject }); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	mc := conn(member)
	listen(mc, member.NATS().Name())
	var scs []*nats.Conn
	for _, s := range strangers {
		sc := conn(s)
		listen(sc, s.NATS().Name())
		scs = append(scs, sc)
	}
	if err := mc.Publish("crossing.from."+member.NATS().Name(), nil); err != nil {
		t.Fatal(err)
	}
	for i, sc := range scs {
		if err := sc.Publish("crossing.from."+strangers[i].NATS().Name(), nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(time.Second)
	own := 0 // each publisher's own subscriber gets its message
	for {
		select {
		case g := <-got:
			name, subject, _ := strings.Cut(g, " got ")
			if subject != "crossing.from."+name {
				t.Errorf("%s: a message crossed between the cluster and a stranger", g)
				continue
			}
			own++
		case <-deadline:
			if own != 1+len(strangers) {
				t.Errorf("%d of %d publishers heard themselves", own, 1+len(strangers))
			}
			return
		}
	}
}

// peersOnly checks that srv's routes lead to the named servers and no other.
func peersOnly(t *testing.T, srv *embedded.Server, peers ...string) {
	t.Helper()
	rz, err := srv.NATS().Routez(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rz.Routes {
		if !slices.Contains(peers, r.RemoteName) {
			t.Errorf("%s has a route to %q; want only %v", srv.NATS().Name(), r.RemoteName, peers)
		}
	}
}

func TestTLSClients(t *testing.T) {
	f := testutil.WriteTLSFiles(t)
	srv := start(t, t.TempDir(), embedded.WithListen("127.0.0.1", -1),
		embedded.WithTLS(embedded.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, CA: f.CA}))
	defer srv.Shutdown()
	u := srv.ClientURL()
	if !strings.HasPrefix(u, "tls://127.0.0.1:") {
		t.Fatalf("ClientURL = %q, want tls://127.0.0.1:<port>", u)
	}
	nc, err := nats.Connect(u, nats.RootCAs(f.CA), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("TLS client trusting the CA: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	nc.Close()

	if nc, err := nats.Connect(u, nats.Timeout(10*time.Second)); err == nil {
		nc.Close()
		t.Error("a client that does not trust the CA connected")
	}
	testutil.PlainRefused(t, strings.TrimPrefix(u, "tls://"))

	// The in-process connection needs no TLS.
	ic, err := srv.Connect()
	if err != nil {
		t.Fatalf("in-process connection to a TLS server: %v", err)
	}
	ic.Close()
}

func TestTLSVerifyClients(t *testing.T) {
	f := testutil.WriteTLSFiles(t)
	srv := start(t, t.TempDir(), embedded.WithListen("127.0.0.1", -1),
		embedded.WithTLS(embedded.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, CA: f.CA, VerifyClients: true}))
	defer srv.Shutdown()
	u := srv.ClientURL()
	try := func(opts ...nats.Option) error {
		nc, err := nats.Connect(u, append(opts, nats.RootCAs(f.CA), nats.Timeout(10*time.Second))...)
		if err == nil {
			err = nc.Flush()
			nc.Close()
		}
		return err
	}
	if err := try(); err == nil {
		t.Error("a client without a certificate connected")
	}
	if err := try(nats.ClientCert(f.StrangerCert, f.StrangerKey)); err == nil {
		t.Error("a client with a certificate of another CA connected")
	}
	if err := try(nats.ClientCert(f.ClientCert, f.ClientKey)); err != nil {
		t.Errorf("a client with a certificate of the CA: %v", err)
	}
}

func TestTLSStartErrors(t *testing.T) {
	f := testutil.WriteTLSFiles(t)
	missing := f.CA + ".missing"
	for name, tc := range map[string]embedded.TLSFiles{
		"no key":            {Cert: f.ServerCert},
		"verify without CA": {Cert: f.ServerCert, Key: f.ServerKey, VerifyClients: true},
		"missing cert file": {Cert: missing, Key: f.ServerKey},
	} {
		srv, err := embedded.Start(t.TempDir(), embedded.WithListen("127.0.0.1", -1), embedded.WithTLS(tc))
		if err == nil {
			srv.Shutdown()
			t.Errorf("%s: the server started", name)
		}
	}
	_ = os.Remove(missing)
}

func TestTLSClusterRefusesStrangerCertificate(t *testing.T) {
	f := testutil.WriteTLSFiles(t)
	secure := []embedded.Option{
		embedded.WithClusterAuth("naq", "r0ute-secret"),
		embedded.WithTLS(embedded.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, CA: f.CA}),
	}
	pa, pb := freePort(t), freePort(t)
	a, ha := node(t, "a", pa, []string{fmt.Sprintf("nats-route://127.0.0.1:%d", pb)}, secure...)
	b, _ := node(t, "b", pb, []string{routeTo(a, "")}, secure...)
	testutil.Eventually(t, 30*time.Second, "the two TLS nodes form a cluster", func() bool {
		return a.NATS().NumRoutes() > 0 && b.NATS().NumRoutes() > 0
	})

	// The stranger knows the password but holds a certificate of another CA.
	s, _ := node(t, "stranger", -1, []string{routeTo(a, "")},
		embedded.WithClusterAuth("naq", "r0ute-secret"),
		embedded.WithTLS(embedded.TLSFiles{Cert: f.StrangerCert, Key: f.StrangerKey, CA: f.CA}))
	testutil.Eventually(t, 30*time.Second, "a refuses the stranger's TLS handshake", func() bool { return logged(ha, "TLS route handshake error") })
	noCrossing(t, a, s)
	peersOnly(t, a, "b")
}
