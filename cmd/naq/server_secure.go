package main

import (
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/envvar"
)

// securityFlags are the flags of `naq server` that decide who may connect:
// TLS, the cluster's route credentials, the monitor's interface, and the
// explicit opt-out of the checks that keep a server from listening open.
type securityFlags struct {
	tlsCert, tlsKey, tlsCA string
	tlsVerify              bool
	clusterUser            string
	clusterPass            string
	monitorHost            string
	insecure               bool
}

func (s *securityFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&s.tlsCert, "tls-cert", "", "server certificate (PEM): clients and routes must use TLS")
	fl.StringVar(&s.tlsKey, "tls-key", "", "key of --tls-cert (PEM)")
	fl.StringVar(&s.tlsCA, "tls-ca", "", "CA certificates (PEM) that client certificates and the other nodes' certificates must chain to")
	fl.BoolVar(&s.tlsVerify, "tls-verify", false, "require every client to present a certificate signed by --tls-ca")
	fl.StringVar(&s.clusterUser, "cluster-user", "naq", "user the cluster nodes present to each other (with --cluster-password)")
	// Read from the environment when the server starts, not as the default,
	// so that --help never prints it.
	fl.StringVar(&s.clusterPass, "cluster-password", "",
		"password every node of the cluster must present on its routes (env "+envvar.ClusterPassword+")")
	fl.StringVar(&s.monitorHost, "monitor-host", "127.0.0.1", "interface of the monitoring port (it has no authentication)")
	fl.BoolVar(&s.insecure, "insecure", false, "allow listening beyond loopback without client authentication, and a cluster without route credentials")
}

// clientAuth reports whether clients must prove who they are.
func (f *serverFlags) clientAuth() bool {
	return f.authToken != "" || f.authUser != "" || f.tlsVerify
}

// checkSecurity refuses a server that anyone on the network could use, and
// TLS settings that cannot work.
func (f *serverFlags) checkSecurity() error {
	if f.clusterPass == "" {
		f.clusterPass = os.Getenv(envvar.ClusterPassword)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if f.tlsCert == "" && (f.tlsCA != "" || f.tlsVerify) {
		return usagef("--tls-ca and --tls-verify need the server's own certificate: --tls-cert and --tls-key")
	}
	if f.tlsVerify && f.tlsCA == "" {
		return usagef("--tls-verify needs --tls-ca, the CA that signs the client certificates")
	}
	if f.clusterName != "" && f.tlsCert != "" && f.tlsCA == "" {
		return usagef("a cluster with TLS needs --tls-ca: the nodes verify each other's certificates with it")
	}
	if !validHost(f.monitorHost) {
		return usagef("--monitor-host %q is not a valid host: want an IP address or a host name (127.0.0.1: this machine only)", f.monitorHost)
	}
	if f.insecure {
		return nil
	}
	if !isLoopback(f.host) && !f.clientAuth() {
		return usagef("--host %s accepts connections from other machines, but no client authentication is set: "+
			"anyone who reaches the port could read, run and delete every job. Add --auth-token (or --auth-user and "+
			"--auth-password, or --tls-verify with --tls-ca), or pass --insecure to run it open on purpose", f.host)
	}
	if f.clusterName != "" && f.clusterPass == "" && (!isLoopback(f.host) || f.clientAuth()) {
		return usagef("the cluster port would let any server join without credentials, then read every job and " +
			"delete the streams: give every node the same --cluster-password (or " + envvar.ClusterPassword +
			"), or pass --insecure")
	}
	return nil
}

// securityOptions are the embedded server's options for the flags.
func (f *serverFlags) securityOptions() []embedded.Option {
	opts := []embedded.Option{embedded.WithMonitorHost(f.monitorHost)}
	if f.tlsCert != "" {
		opts = append(opts, embedded.WithTLS(embedded.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA, VerifyClients: f.tlsVerify}))
	}
	if f.clusterName != "" && f.clusterPass != "" {
		opts = append(opts, embedded.WithClusterAuth(f.clusterUser, f.clusterPass))
	}
	return opts
}

// securityAttrs describe, for the start-up log line, what clients need.
func (f *serverFlags) securityAttrs() []any {
	var attrs []any
	switch {
	case f.tlsVerify:
		attrs = append(attrs, "tls", "client certificates required (clients: --tls-ca, --tls-cert, --tls-key or NAQ_TLS_*)")
	case f.tlsCert != "":
		attrs = append(attrs, "tls", "required (clients: --tls-ca or NAQ_TLS_CA)")
	}
	if f.clusterName != "" && f.clusterPass != "" {
		attrs = append(attrs, "cluster_auth", "password")
	}
	return attrs
}

// warnOpen logs what --insecure and --monitor-host leave open.
func (f *serverFlags) warnOpen(log *slog.Logger) {
	if !isLoopback(f.host) && !f.clientAuth() {
		log.Warn("no client authentication: anyone who reaches the client port can read, run and delete every job (--insecure)", "host", f.host)
	}
	if f.clusterName != "" && f.clusterPass == "" && !isLoopback(f.host) {
		log.Warn("no cluster password: any server that reaches the cluster port can join and read every job (--insecure)")
	}
	if f.monitorPort != 0 && !isLoopback(f.monitorHost) {
		log.Warn("the monitoring port has no authentication and is reachable beyond this machine", "monitor_host", f.monitorHost)
	}
}

// isLoopback reports whether host only accepts connections from this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHost reports whether host can name an interface: an IP address, or a
// host name (letters, digits, '-' and '.', in labels of at most 63).
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
