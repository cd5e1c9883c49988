package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/envvar"
)

// connectionFlags are how every command connects to NATS. They default to
// the environment variables naq.Dial reads, so a program and the CLI given
// the same environment reach the same server the same way.
func (a *app) connectionFlags(pf *pflag.FlagSet) {
	env := func(name string) string { return os.Getenv(name) }
	pf.StringVar(&a.url, "url", envOr(envvar.URL, naq.DefaultURL), "NATS server URL(s), comma-separated (env "+envvar.URL+")")
	pf.StringVar(&a.user, "user", env(envvar.User), "NATS user (env "+envvar.User+")")
	pf.StringVar(&a.password, "password", env(envvar.Password), "NATS password (env "+envvar.Password+")")
	pf.StringVar(&a.token, "token", env(envvar.Token), "NATS token (env "+envvar.Token+")")
	pf.StringVar(&a.creds, "creds", env(envvar.Creds), "NATS credentials file (env "+envvar.Creds+")")
	pf.StringVar(&a.tlsCA, "tls-ca", env(envvar.TLSCA), "connect with TLS, trusting the CA certificates in this PEM file (env "+envvar.TLSCA+")")
	pf.StringVar(&a.tlsCert, "tls-cert", env(envvar.TLSCert), "connect with TLS, presenting this client certificate, PEM (env "+envvar.TLSCert+")")
	pf.StringVar(&a.tlsKey, "tls-key", env(envvar.TLSKey), "key of --tls-cert, PEM (env "+envvar.TLSKey+")")
}

// dialOptions turns the connection flags into naq.Dial options.
func (a *app) dialOptions() []naq.DialOption {
	opts := []naq.DialOption{naq.WithURL(a.url)}
	if a.user != "" {
		opts = append(opts, naq.WithUserPassword(a.user, a.password))
	}
	if a.token != "" {
		opts = append(opts, naq.WithToken(a.token))
	}
	if a.creds != "" {
		opts = append(opts, naq.WithCredentials(a.creds))
	}
	if a.tlsCA != "" || a.tlsCert != "" || a.tlsKey != "" {
		opts = append(opts, naq.WithTLSFiles(a.tlsCert, a.tlsKey, a.tlsCA))
	}
	return opts
}
