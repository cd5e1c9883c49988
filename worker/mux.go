package worker

// Handlers: the Handler interface, typed handlers, middleware and the Mux
// that routes a job to the handler registered under its name.

import (
	"context"
	"fmt"
	"sync"

	"github.com/naqgo/naq"
)

// Handler runs one job and returns its result, which must marshal to JSON.
type Handler interface {
	ProcessJob(ctx context.Context, job *naq.Job) (any, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *naq.Job) (any, error)

// ProcessJob calls f.
func (f HandlerFunc) ProcessJob(ctx context.Context, job *naq.Job) (any, error) { return f(ctx, job) }

// Middleware wraps a handler, for logging, metrics, tracing, recovery...
type Middleware func(Handler) Handler

// Typed adapts a function with a typed argument and result. The job's
// arguments bind to T by the rule of naq.Job.Bind: a struct enqueued as the
// args value (keyword arguments) comes back as the same struct. A job whose
// arguments do not fit T fails without retry.
func Typed[T, R any](fn func(ctx context.Context, args T) (R, error)) Handler {
	return HandlerFunc(func(ctx context.Context, job *naq.Job) (any, error) {
		var args T
		if err := job.Bind(&args); err != nil {
			return nil, SkipRetry(&Error{Kind: KindBind, Err: err})
		}
		return fn(ctx, args)
	})
}

// Mux routes jobs to handlers by job name, through its middleware.
type Mux struct {
	mu         sync.RWMutex
	handlers   map[string]Handler
	fallback   Handler
	middleware []Middleware
	// chains are the handlers wrapped in the middleware, built once per name
	// (and for the fallback under "") rather than for every job, and dropped
	// when a handler or middleware is added.
	chains map[string]Handler
}

// names returns the registered handler names.
func (m *Mux) names() map[string]bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]bool, len(m.handlers))
	for n := range m.handlers {
		out[n] = true
	}
	return out
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{handlers: map[string]Handler{}} }

// Handle registers h under name (Python naq's "module:qualname" for jobs that
// Python producers enqueue). It panics on an empty name, a nil handler or a
// name registered twice, like net/http.
func (m *Mux) Handle(name string, h Handler) {
	if name == "" || h == nil {
		panic("worker: Handle needs a name and a handler")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.handlers[name]; dup {
		panic(fmt.Sprintf("worker: a handler is already registered for %q", name))
	}
	m.handlers[name] = h
	m.chains = nil
}

// HandleFallback registers h for jobs whose name has no handler of its own,
// replacing the default that fails them ("no handler registered for <name>").
// A nil h restores that default.
func (m *Mux) HandleFallback(h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fallback = h
	m.chains = nil
}

// HandleFunc registers f under name.
func (m *Mux) HandleFunc(name string, f func(ctx context.Context, job *naq.Job) (any, error)) {
	m.Handle(name, HandlerFunc(f))
}

// Use appends middleware; the first one added is the outermost.
func (m *Mux) Use(mw ...Middleware) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.middleware = append(m.middleware, mw...)
	m.chains = nil
}

// ProcessJob dispatches job to its handler. A job whose name has no handler
// goes to the fallback handler (see HandleFallback); without one it fails
// without retry: "no handler registered for <name>".
func (m *Mux) ProcessJob(ctx context.Context, job *naq.Job) (any, error) {
	m.mu.RLock()
	h, ok := m.chains[job.Name]
	m.mu.RUnlock()
	if !ok {
		h = m.chain(job.Name)
	}
	return h.ProcessJob(ctx, job)
}

// chain builds and keeps the handler for name wrapped in the middleware. A
// name with no handler of its own shares the fallback's chain, so names a
// producer makes up cannot grow the map.
func (m *Mux) chain(name string) Handler {
	m.mu.Lock()
	defer m.mu.Unlock()
	key, h := name, m.handlers[name]
	if h == nil {
		key, h = "", m.fallback
		if c, ok := m.chains[key]; ok {
			return c
		}
	}
	if h == nil {
		// Without a fallback, the default: the job fails for want of a
		// handler, through the middleware like any other.
		h = HandlerFunc(func(_ context.Context, job *naq.Job) (any, error) {
			return nil, SkipRetry(&Error{Kind: "naq:NoHandler", Err: fmt.Errorf("no handler registered for %s", job.Name)})
		})
	}
	for i := len(m.middleware) - 1; i >= 0; i-- {
		h = m.middleware[i](h)
	}
	if m.chains == nil {
		m.chains = map[string]Handler{}
	}
	m.chains[key] = h
	return h
}
