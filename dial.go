package naq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultURL is where Dial connects when neither WithURL nor NAQ_NATS_URL says
// otherwise.
const DefaultURL = "nats://localhost:4222"

type dialConfig struct {
	url  string
	opts []nats.Option
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

// WithURL connects to url (comma-separated for a cluster), overriding
// NAQ_NATS_URL.
func WithURL(url string) DialOption { return func(c *dialConfig) { c.url = url } }

// WithUserPassword authenticates with a user and password.
func WithUserPassword(user, pass string) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, nats.UserInfo(user, pass)) }
}

// WithToken authenticates with a token.
func WithToken(token string) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, nats.Token(token)) }
}

// WithCredentials authenticates with a .creds file (JWT and NKey seed).
func WithCredentials(file string) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, nats.UserCredentials(file)) }
}

// WithTLS uses cfg for TLS connections.
func WithTLS(cfg *tls.Config) DialOption {
	return func(c *dialConfig) { c.opts = append(c.opts, nats.Secure(cfg)) }
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

// URLFromEnv returns NAQ_NATS_URL, or DefaultURL when it is unset.
func URLFromEnv() string {
	if u := strings.TrimSpace(os.Getenv("NAQ_NATS_URL")); u != "" {
		return u
	}
	return DefaultURL
}

// Dial connects to an external NATS server. By default it reconnects forever,
// every 250 ms (plus up to 100 ms of jitter), so a worker is back at work
// within about half a second of a restarted server, and never stops for one.
func Dial(ctx context.Context, opts ...DialOption) (*nats.Conn, error) {
	c := dialConfig{url: URLFromEnv()}
	for _, o := range opts {
		o(&c)
	}
	all := []nats.Option{nats.Name("naq"), nats.MaxReconnects(-1), nats.ReconnectWait(DefaultReconnectWait)}
	if dl, ok := ctx.Deadline(); ok {
		all = append(all, nats.Timeout(time.Until(dl)))
	}
	all = append(all, c.opts...)
	nc, err := nats.Connect(c.url, all...)
	if err != nil {
		return nil, ConnectError(c.url, err)
	}
	return nc, nil
}

// ConnectError words a failed connection as one line that says what to do.
func ConnectError(url string, err error) error {
	hint := "start one with `naq server`, or set NAQ_NATS_URL"
	if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization") {
		hint = "check the user, password, token or credentials"
	}
	return fmt.Errorf("cannot connect to %s: %w (%s)", url, err, hint)
}
