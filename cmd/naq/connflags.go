package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/envvar"
)

// connectionFlags are how every command connects to NATS. Unset, each falls
// back to the environment variable naq.Dial reads, so a program and the CLI
// given the same environment reach the same server the same way. The
// variables are read when connecting, not as the flags' defaults, so that
// --help never prints a password, a token or a URL with credentials.
func (a *app) connectionFlags(pf *pflag.FlagSet) {
	pf.StringVar(&a.url, "url", "", "NATS server URL(s), comma-separated (env "+envvar.URL+"; default "+naq.DefaultURL+")")
	pf.StringVar(&a.user, "user", "", "NATS user (env "+envvar.User+")")
	pf.StringVar(&a.password, "password", "", "NATS password (env "+envvar.Password+")")
	pf.StringVar(&a.token, "token", "", "NATS token (env "+envvar.Token+")")
	pf.StringVar(&a.creds, "creds", "", "NATS credentials file (env "+envvar.Creds+")")
	pf.StringVar(&a.tlsCA, "tls-ca", "", "connect with TLS, trusting the CA certificates in this PEM file (env "+envvar.TLSCA+")")
	pf.StringVar(&a.tlsCert, "tls-cert", "", "connect with TLS, presenting this client certificate, PEM (env "+envvar.TLSCert+")")
	pf.StringVar(&a.tlsKey, "tls-key", "", "key of --tls-cert, PEM (env "+envvar.TLSKey+")")
}

// dialOptions turns the connection flags, each completed from its
// environment variable when not given, into naq.Dial options.
func (a *app) dialOptions() []naq.DialOption {
	or := func(flag, env string) string {
		if flag != "" {
			return flag
		}
		return strings.TrimSpace(os.Getenv(env))
	}
	url, user, password := or(a.url, envvar.URL), or(a.user, envvar.User), or(a.password, envvar.Password)
	token, creds := or(a.token, envvar.Token), or(a.creds, envvar.Creds)
	ca, cert, key := or(a.tlsCA, envvar.TLSCA), or(a.tlsCert, envvar.TLSCert), or(a.tlsKey, envvar.TLSKey)
	if url == "" {
		url = naq.DefaultURL
	}
	opts := []naq.DialOption{naq.WithURL(url)}
	if user != "" {
		opts = append(opts, naq.WithUserPassword(user, password))
	}
	if token != "" {
		opts = append(opts, naq.WithToken(token))
	}
	if creds != "" {
		opts = append(opts, naq.WithCredentials(creds))
	}
	if ca != "" || cert != "" || key != "" {
		opts = append(opts, naq.WithTLSFiles(cert, key, ca))
	}
	return opts
}

// serverURL is the URL the commands connect to: --url, else the environment,
// else the default. It may hold credentials: redact it before showing it.
func (a *app) serverURL() string {
	if a.url != "" {
		return a.url
	}
	return naq.URLFromEnv()
}
