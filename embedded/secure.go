package embedded

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/nats-io/nats-server/v2/server"
)

// TLSFiles names the PEM files of a server's TLS setup.
type TLSFiles struct {
	// Cert and Key are the server's certificate and private key. Clients
	// must then connect with TLS; in a cluster the routes use them too, so
	// the certificate must name the host every route dials and allow client
	// as well as server authentication.
	Cert, Key string
	// CA holds the CA certificates that client certificates (with
	// VerifyClients) and the other cluster nodes' certificates must chain to.
	// A cluster with TLS requires it.
	CA string
	// VerifyClients requires every client to present a certificate signed
	// by CA: a client without one cannot connect.
	VerifyClients bool
}

// WithTLS makes clients (and, in a cluster, routes) connect with TLS.
func WithTLS(f TLSFiles) Option { return func(c *config) { c.tls = &f } }

// WithClusterAuth makes the cluster's route port demand user and password of
// every server that joins, so a server without them cannot read or change
// the cluster's streams. Route URLs given to WithCluster without credentials
// of their own present these.
func WithClusterAuth(user, password string) Option {
	return func(c *config) { c.routeUser, c.routePass = user, password }
}

// WithMonitorHost makes the monitoring endpoint (WithMonitor) listen on host
// instead of 127.0.0.1. It has no authentication: /varz and /connz describe
// the server and its clients to whoever can reach it.
func WithMonitorHost(host string) Option { return func(c *config) { c.monitorHost = host } }

// secure adds TLS and route authentication to so.
func (c config) secure(so *server.Options) error {
	if c.routeUser != "" || c.routePass != "" {
		if c.routeUser == "" || c.routePass == "" {
			return errors.New("embedded: cluster authentication needs both a user and a password")
		}
		so.Cluster.Username, so.Cluster.Password = c.routeUser, c.routePass
		for _, r := range so.Routes {
			if r.User == nil {
				r.User = url.UserPassword(c.routeUser, c.routePass)
			}
		}
	}
	if c.tls == nil {
		return nil
	}
	t := *c.tls
	if t.Cert == "" || t.Key == "" {
		return errors.New("embedded: TLS needs both a certificate and a key file")
	}
	if t.VerifyClients && t.CA == "" {
		return errors.New("embedded: verifying client certificates needs the CA file that signs them")
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: t.VerifyClients})
	if err != nil {
		return fmt.Errorf("embedded: TLS: %w", err)
	}
	so.TLSConfig, so.TLS, so.TLSVerify = cfg, true, t.VerifyClients
	if c.clusterName == "" {
		return nil
	}
	if t.CA == "" {
		return errors.New("embedded: TLS in a cluster needs the CA file that signs every node's certificate")
	}
	// Routes verify each other both ways, as nats-server does for a cluster
	// configured from a file.
	rc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: true})
	if err != nil {
		return fmt.Errorf("embedded: cluster TLS: %w", err)
	}
	rc.ClientAuth = tls.RequireAndVerifyClientCert
	rc.RootCAs = rc.ClientCAs
	so.Cluster.TLSConfig = rc
	return nil
}
