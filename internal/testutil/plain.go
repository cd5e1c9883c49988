package testutil

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// PlainRefused speaks the NATS protocol without TLS to a TLS server at addr
// (host:port) and fails the test if the server answers a PING.
func PlainRefused(t testing.TB, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read INFO: %v", err)
	}
	if !strings.Contains(info, `"tls_required":true`) {
		t.Errorf("INFO does not demand TLS: %s", info)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		return // closed already: refused
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		line, err := r.ReadString('\n')
		if strings.HasPrefix(line, "PONG") {
			t.Fatal("a client without TLS got an answer to PING")
		}
		if err != nil {
			return
		}
	}
}
