package naq_test

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/envvar"
	"github.com/naqgo/naq/internal/testutil"
)

// clearDialEnv unsets every variable Dial reads, for the test.
func clearDialEnv(t *testing.T) {
	for _, k := range []string{envvar.URL, envvar.User, envvar.Password, envvar.Token, envvar.Creds,
		envvar.TLSCert, envvar.TLSKey, envvar.TLSCA} {
		t.Setenv(k, "")
	}
}

// listening starts a server on a free TCP port, stopped when the test ends.
func listening(t *testing.T, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(t.TempDir(), append(opts, embedded.WithListen("127.0.0.1", -1))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// dialOnce is naq.Dial that fails at once when the server refuses.
func dialOnce(t *testing.T, opts ...naq.DialOption) error {
	t.Helper()
	nc, err := naq.Dial(t.Context(), append(opts, naq.WithNATSOptions(nats.RetryOnFailedConnect(false)))...)
	if err == nil {
		err = nc.Flush()
		nc.Close()
	}
	return err
}

func TestDialReadsCredentialsFromEnv(t *testing.T) {
	clearDialEnv(t)
	srv := listening(t, embedded.WithToken("s3cret"))
	t.Setenv(envvar.URL, srv.ClientURL())
	if err := dialOnce(t); err == nil || !strings.Contains(err.Error(), "check the user, password, token") {
		t.Fatalf("without a token: %v; want the authentication hint", err)
	}
	t.Setenv(envvar.Token, "s3cret")
	if err := dialOnce(t); err != nil {
		t.Fatalf("with %s: %v", envvar.Token, err)
	}
	// An option replaces the environment's credentials.
	if err := dialOnce(t, naq.WithToken("wrong")); err == nil {
		t.Error("WithToken(\"wrong\") connected: the environment's token was used instead")
	}

	users := listening(t, embedded.WithUserPassword("ana", "pw"))
	clearDialEnv(t)
	t.Setenv(envvar.URL, users.ClientURL())
	t.Setenv(envvar.User, "ana")
	t.Setenv(envvar.Password, "pw")
	if err := dialOnce(t); err != nil {
		t.Fatalf("with %s and %s: %v", envvar.User, envvar.Password, err)
	}

	clearDialEnv(t)
	missing := filepath.Join(t.TempDir(), "nobody.creds")
	t.Setenv(envvar.URL, users.ClientURL())
	t.Setenv(envvar.Creds, missing)
	if err := dialOnce(t); err == nil || !strings.Contains(err.Error(), "nobody.creds") {
		t.Errorf("with %s naming a missing file: %v; want an error naming it", envvar.Creds, err)
	}
}

func TestDialTLS(t *testing.T) {
	clearDialEnv(t)
	f := testutil.WriteTLSFiles(t)
	srv := listening(t, embedded.WithTLS(embedded.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, CA: f.CA, VerifyClients: true}))
	// The plain nats:// form: the TLS options alone make the connection secure.
	url := strings.Replace(srv.ClientURL(), "tls://", "nats://", 1)

	if err := dialOnce(t, naq.WithURL(url)); err == nil || !strings.Contains(err.Error(), "TLS settings") {
		t.Fatalf("without TLS settings: %v; want the TLS hint", err)
	}
	if err := dialOnce(t, naq.WithURL(url), naq.WithTLSFiles("", "", f.CA)); err == nil {
		t.Fatal("connected without the client certificate the server requires")
	}
	if err := dialOnce(t, naq.WithURL(url), naq.WithTLSFiles(f.ClientCert, f.ClientKey, f.CA)); err != nil {
		t.Fatalf("WithTLSFiles: %v", err)
	}
	if err := dialOnce(t, naq.WithURL(url), naq.WithTLSFiles(f.ClientCert, "", f.CA)); err == nil ||
		!strings.Contains(err.Error(), "key") {
		t.Errorf("a certificate without its key: %v; want an error about the key", err)
	}

	t.Setenv(envvar.URL, url)
	t.Setenv(envvar.TLSCA, f.CA)
	t.Setenv(envvar.TLSCert, f.ClientCert)
	t.Setenv(envvar.TLSKey, f.ClientKey)
	if err := dialOnce(t); err != nil {
		t.Fatalf("with %s, %s, %s: %v", envvar.TLSCA, envvar.TLSCert, envvar.TLSKey, err)
	}
	t.Setenv(envvar.TLSKey, "")
	if err := dialOnce(t); err == nil || !strings.Contains(err.Error(), envvar.TLSKey) {
		t.Errorf("%s without %s: %v; want an error naming it", envvar.TLSCert, envvar.TLSKey, err)
	}
	// A TLS option replaces the environment's settings, broken or not.
	if err := dialOnce(t, naq.WithTLSFiles(f.ClientCert, f.ClientKey, f.CA)); err != nil {
		t.Errorf("WithTLSFiles over a broken environment: %v", err)
	}
}

func TestConnectErrorHidesCredentials(t *testing.T) {
	clearDialEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close() // nobody listens there now
	for _, url := range []string{
		"nats://ana:pa55-secret@127.0.0.1:" + port,
		"nats://t0ken-secret@127.0.0.1:" + port,
		"nats://127.0.0.1:" + port + ",nats://ana:pa55-secret@127.0.0.1:" + port,
	} {
		err := dialOnce(t, naq.WithURL(url))
		if err == nil {
			t.Fatalf("%s: connected to a closed port", url)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the credentials: %v", err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1:"+port) {
			t.Errorf("the error does not name the server: %v", err)
		}
	}
}
