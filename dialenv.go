package naq

import (
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq/internal/envvar"
)

// URLFromEnv returns NAQ_NATS_URL, or DefaultURL when it is unset.
func URLFromEnv() string {
	if u := strings.TrimSpace(os.Getenv(envvar.URL)); u != "" {
		return u
	}
	return DefaultURL
}

// dialFromEnv is Dial's starting point: the URL, credentials and TLS
// settings of the environment, the same variables the CLI reads.
func dialFromEnv() dialConfig {
	c := dialConfig{url: URLFromEnv()}
	if u := os.Getenv(envvar.User); u != "" {
		c.auth = append(c.auth, nats.UserInfo(u, os.Getenv(envvar.Password)))
	}
	if t := os.Getenv(envvar.Token); t != "" {
		c.auth = append(c.auth, nats.Token(t))
	}
	if f := strings.TrimSpace(os.Getenv(envvar.Creds)); f != "" {
		c.auth = append(c.auth, nats.UserCredentials(f))
	}
	c.authEnv = len(c.auth) > 0
	cert, key, ca := envTrim(envvar.TLSCert), envTrim(envvar.TLSKey), envTrim(envvar.TLSCA)
	if cert != "" || key != "" || ca != "" {
		c.tlsEnv = true
		if (cert == "") != (key == "") {
			// An error only if no TLS option replaces these settings.
			c.tlsEnvErr = fmt.Errorf("naq: %s and %s go together: a client certificate needs its key", envvar.TLSCert, envvar.TLSKey)
		} else {
			c.tls, _ = tlsFileOptions(cert, key, ca)
		}
	}
	return c
}

func envTrim(key string) string { return strings.TrimSpace(os.Getenv(key)) }
