package main

import (
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/envvar"
	"github.com/naqgo/naq/internal/redact"
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

// checkURL refuses a --url given on the command line that no connection
// could use: an empty one (left out, the environment or the default
// applies), or one that does not parse. The error names the URL, with its
// credentials masked.
func (a *app) checkURL(cmd *cobra.Command) error {
	if f := cmd.Flag("url"); f == nil || !f.Changed {
		return nil
	}
	if strings.TrimSpace(strings.ReplaceAll(a.url, ",", "")) == "" {
		return usagef("--url is empty: give a NATS server URL (nats://host:port), or leave --url out to use %s or %s", envvar.URL, naq.DefaultURL)
	}
	for _, u := range strings.Split(a.url, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		full := u
		if !strings.Contains(full, "://") {
			full = "nats://" + full // as nats.go reads it
		}
		p, err := url.Parse(full)
		if err == nil && p.Host == "" {
			err = errors.New("no host")
		}
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return usagef("--url %q is not a NATS server URL (%v): want nats://host:port, comma-separated for a cluster", redact.URL(u), err)
		}
	}
	return nil
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
