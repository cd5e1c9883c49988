// Package envvar names the environment variables naq reads, in one place, so
// that naq.Dial, the CLI and the docs cannot drift apart.
package envvar

// How a client (naq.Dial and every naq command) connects to NATS.
const (
	URL      = "NAQ_NATS_URL"      // server URL(s), comma-separated
	User     = "NAQ_NATS_USER"     // user name (with Password)
	Password = "NAQ_NATS_PASSWORD" // password of User
	Token    = "NAQ_NATS_TOKEN"    // authentication token
	Creds    = "NAQ_NATS_CREDS"    // .creds file (JWT and NKey seed)
	TLSCert  = "NAQ_TLS_CERT"      // client certificate (PEM), with TLSKey
	TLSKey   = "NAQ_TLS_KEY"       // key of TLSCert (PEM)
	TLSCA    = "NAQ_TLS_CA"        // CA certificates (PEM) the server's certificate must chain to
)

// Other settings.
const (
	DefaultQueue    = "NAQ_DEFAULT_QUEUE"    // queue used when none is named
	LogLevel        = "NAQ_LOG_LEVEL"        // CLI log level
	ClusterPassword = "NAQ_CLUSTER_PASSWORD" // `naq server`: password of the cluster's routes
)

// The dashboard's own login (`naq dashboard`), apart from the NATS one.
const (
	DashboardToken    = "NAQ_DASHBOARD_TOKEN"    // bearer token the browser must present
	DashboardUser     = "NAQ_DASHBOARD_USER"     // basic-auth user (with DashboardPassword)
	DashboardPassword = "NAQ_DASHBOARD_PASSWORD" // basic-auth password
)
