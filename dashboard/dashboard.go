// Package dashboard is naq's web dashboard: an http.Handler that shows every
// queue, job, failed job, schedule and worker of a deployment and acts on
// them. Pages are rendered on the server with html/template (everything a
// job carries is escaped), update themselves from server-sent events, and
// need nothing from outside the binary.
//
//	h, err := dashboard.New(client, dashboard.WithPrefix("/naq"))
//	defer h.Close()
//	http.Handle("/naq/", h)
//
// Every state-changing action is a POST carrying a CSRF token, and
// cross-origin POSTs are refused; ReadOnly hides and refuses them all.
package dashboard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/naqgo/naq"
)

// Option configures a Handler.
type Option func(*config) error

type config struct {
	prefix    string
	readOnly  bool
	user      string
	password  string
	token     string
	log       *slog.Logger
	sampleInt time.Duration
	liveTick  time.Duration
}

// WithPrefix serves the dashboard under a path prefix ("/naq"): mount the
// handler at prefix + "/".
func WithPrefix(p string) Option {
	return func(c *config) error {
		p = strings.TrimRight(p, "/")
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("dashboard: prefix %q must start with /", p)
		}
		c.prefix = p
		return nil
	}
}

// ReadOnly hides every action and refuses every POST.
func ReadOnly() Option { return func(c *config) error { c.readOnly = true; return nil } }

// WithBasicAuth asks every request for this user and password (HTTP basic
// authentication; serve it over TLS off a trusted network).
func WithBasicAuth(user, password string) Option {
	return func(c *config) error {
		if user == "" || password == "" {
			return errors.New("dashboard: basic auth needs both a user and a password")
		}
		c.user, c.password = user, password
		return nil
	}
}

// WithToken asks every request for this token: an "Authorization: Bearer"
// header, or a browser opening any page with ?token=... once (it is then
// kept in a cookie).
func WithToken(token string) Option {
	return func(c *config) error {
		if len(token) < 16 {
			return errors.New("dashboard: a token must be at least 16 characters")
		}
		c.token = token
		return nil
	}
}

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) error { c.log = l; return nil } }

// WithRefresh sets how often the throughput history is sampled from the
// workers' heartbeat counters and how often open pages refresh when no event
// arrives (defaults 10 s and 5 s).
func WithRefresh(sample, live time.Duration) Option {
	return func(c *config) error {
		if sample <= 0 || live <= 0 {
			return errors.New("dashboard: refresh intervals must be positive")
		}
		c.sampleInt, c.liveTick = sample, live
		return nil
	}
}

// Handler serves the dashboard. Close stops its sampler.
type Handler struct {
	c       *naq.Client
	cfg     config
	root    http.Handler
	pages   *pages
	key     []byte // signs CSRF tokens
	history *history

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the dashboard over a client. It starts one goroutine, which
// samples the workers' counters for the throughput chart; Close stops it.
func New(c *naq.Client, opts ...Option) (*Handler, error) {
	cfg := config{log: slog.Default(), sampleInt: 10 * time.Second, liveTick: 5 * time.Second}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.token != "" && cfg.user != "" {
		return nil, errors.New("dashboard: give a token or a user and password, not both")
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{c: c, cfg: cfg, pages: p, key: make([]byte, 32), history: newHistory(time.Hour)}
	if _, err := rand.Read(h.key); err != nil {
		return nil, fmt.Errorf("dashboard: key: %w", err)
	}
	mux := http.NewServeMux()
	h.routes(mux)
	var root http.Handler = mux
	if cfg.prefix != "" {
		root = http.StripPrefix(cfg.prefix, mux)
	}
	cop := http.NewCrossOriginProtection()
	h.root = h.authenticate(cop.Handler(h.secureHeaders(root)))
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Go(func() { h.sample(ctx) })
	return h, nil
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// Close stops the sampler and waits for it. Open live streams end with
// their requests.
func (h *Handler) Close() {
	h.cancel()
	h.wg.Wait()
}

func (h *Handler) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /queues/{queue}", h.queue)
	mux.HandleFunc("GET /queues/{queue}/confirm/{action}", h.queueConfirm)
	mux.HandleFunc("POST /queues/{queue}/{action}", h.queueAction)
	mux.HandleFunc("GET /jobs", h.jobLookup)
	mux.HandleFunc("GET /jobs/{id}", h.job)
	mux.HandleFunc("POST /jobs/{id}/cancel", h.jobCancel)
	mux.HandleFunc("GET /workflows/{id}", h.workflow)
	mux.HandleFunc("GET /failed", h.failedList)
	mux.HandleFunc("GET /failed/confirm/{action}", h.failedConfirm)
	mux.HandleFunc("POST /failed/matching/{action}", h.failedMatching)
	mux.HandleFunc("GET /failed/{seq}", h.failedDetail)
	mux.HandleFunc("POST /failed/{seq}/{action}", h.failedAction)
	mux.HandleFunc("GET /schedules", h.schedules)
	mux.HandleFunc("POST /schedules/{id}/{action}", h.scheduleAction)
	mux.HandleFunc("GET /workers", h.workers)
	mux.HandleFunc("GET /live", h.live)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
}

// secureHeaders forbids every script, style or frame not served by the
// dashboard itself: even markup that slipped through could run nothing.
func (h *Handler) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
