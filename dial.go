package naq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/internal/redact"
)

// DefaultURL is where Dial connects when neither WithURL nor NAQ_NATS_URL says
// otherwise.
const DefaultURL = "nats://localhost:4222"

type dialConfig struct {
	url string
	// auth and tls start from the environment; the first option of the kind
	// replaces what the environment gave.
	auth, tls       []nats.Option
	authEnv, tlsEnv bool
	tlsEnvErr       error
	opts            []nats.Option
	errs            []error
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

// WithURL connects to url (comma-separated for a cluster), overriding
// NAQ_NATS_URL.
func WithURL(url string) DialOption { return func(c *dialConfig) { c.url = url } }

// WithUserPassword authenticates with a user and password, overriding the
// NAQ_NATS_* credentials of the environment.
func WithUserPassword(user, pass string) DialOption {
	return func(c *dialConfig) { c.addAuth(nats.UserInfo(user, pass)) }
}

// WithToken authenticates with a token, overriding the NAQ_NATS_* credentials
// of the environment.
func WithToken(token string) DialOption {
	return func(c *dialConfig) { c.addAuth(nats.Token(token)) }
}

// WithCredentials authenticates with a .creds file (JWT and NKey seed),
// overriding the NAQ_NATS_* credentials of the environment.
func WithCredentials(file string) DialOption {
	return func(c *dialConfig) { c.addAuth(nats.UserCredentials(file)) }
}

// WithTLS uses cfg for TLS connections, overriding NAQ_TLS_* of the
// environment.
func WithTLS(cfg *tls.Config) DialOption {
	return func(c *dialConfig) { c.addTLS(nats.Secure(cfg)) }
}

// WithTLSFiles connects over TLS, trusting the CA certificates in caFile (PEM;
// "": the system's roots) and presenting the client certificate certFile with
// its key keyFile (PEM; both "" for none). The files are read at every
// (re)connection, so renewed certificates are picked up. It overrides
// NAQ_TLS_* of the environment.
func WithTLSFiles(certFile, keyFile, caFile string) DialOption {
	return func(c *dialConfig) {
		opts, err := tlsFileOptions(certFile, keyFile, caFile)
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.addTLS(opts...)
	}
}

// DefaultReconnectWait is how long apart Dial tries to reconnect.
const DefaultReconnectWait = 250 * time.Millisecond

// WithReconnects sets how often (-1: forever) and how long apart the client
// reconnects after losing the server.
func WithReconnects(max int, wait time.Duration) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, nats.MaxReconnects(max), nats.ReconnectWait(wait)) }
}

// WithNATSOptions passes any other nats.go option through.
func WithNATSOptions(opts ...nats.Option) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, opts...) }
}

func (c *dialConfig) addAuth(o nats.Option) {
	if c.authEnv {
		c.auth, c.authEnv = nil, false
	}
	c.auth = append(c.auth, o)
}

func (c *dialConfig) addTLS(o ...nats.Option) {
	if c.tlsEnv {
		c.tls, c.tlsEnv, c.tlsEnvErr = nil, false, nil
	}
	c.tls = append(c.tls, o...)
}

// tlsFileOptions turns TLS file names into nats options.
func tlsFileOptions(certFile, keyFile, caFile string) ([]nats.Option, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("naq: a TLS client certificate needs both its certificate and its key file")
	}
	opts := []nats.Option{nats.Secure()}
	if caFile != "" {
		opts = append(opts, nats.RootCAs(caFile))
	}
	if certFile != "" {
		opts = append(opts, nats.ClientCert(certFile, keyFile))
	}
	return opts, nil
}

// Dial connects to an external NATS server. By default it reconnects forever,
// every 250 ms (plus up to 100 ms of jitter), so a worker is back at work
// within about half a second of a restarted server, and never stops for one.
//
// Like every naq command, Dial reads its connection settings from the
// environment, and options override them:
//
//	NAQ_NATS_URL       server URL(s), comma-separated (WithURL; default DefaultURL)
//	NAQ_NATS_USER      user, with NAQ_NATS_PASSWORD (WithUserPassword)
//	NAQ_NATS_TOKEN     token (WithToken)
//	NAQ_NATS_CREDS     .creds file (WithCredentials)
//	NAQ_TLS_CA         CA certificates the server's must chain to (WithTLSFiles)
//	NAQ_TLS_CERT       client certificate, with NAQ_TLS_KEY (WithTLSFiles)
//
// Any credentials option replaces all the credentials of the environment, and
// any TLS option all its TLS settings.
func Dial(ctx context.Context, opts ...DialOption) (*nats.Conn, error) {
	c := dialFromEnv()
	for _, o := range opts {
		o(&c)
	}
	if c.tlsEnvErr != nil {
		c.errs = append(c.errs, c.tlsEnvErr)
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	all := []nats.Option{nats.Name("naq"), nats.MaxReconnects(-1), nats.ReconnectWait(DefaultReconnectWait)}
	if dl, ok := ctx.Deadline(); ok {
		all = append(all, nats.Timeout(time.Until(dl)))
	}
	all = append(all, c.auth...)
	all = append(all, c.tls...)
	all = append(all, c.opts...)
	nc, err := nats.Connect(c.url, all...)
	if err != nil {
		return nil, ConnectError(c.url, err)
	}
	return nc, nil
}

// ConnectError words a failed connection as one line that says what to do.
// Credentials in url are masked.
func ConnectError(url string, err error) error {
	hint := "start one with `naq server`, or set NAQ_NATS_URL"
	low := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(low, "authorization"):
		hint = "check the user, password, token or credentials"
	case strings.Contains(low, "tls") || strings.Contains(low, "x509") || strings.Contains(low, "certificate") ||
		errors.Is(err, nats.ErrSecureConnWanted) || errors.Is(err, nats.ErrSecureConnRequired):
		hint = "check the TLS settings: --tls-ca/--tls-cert/--tls-key or NAQ_TLS_CA/NAQ_TLS_CERT/NAQ_TLS_KEY"
	}
	return fmt.Errorf("cannot connect to %s: %w (%s)", redact.URL(url), err, hint)
}
