package fetch

import (
	"context"
	"sync"
	"time"
)

// gate holds new pull requests back while anyone holds it: the worker holds
// it while it cannot store what its jobs produce, so it takes no new work
// that would only pile up behind the failing writes.
type gate struct {
	mu    sync.Mutex
	holds int
	open  chan struct{} // closed while no one holds the gate
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.holds == 0 {
		g.open = make(chan struct{})
	}
	g.holds++
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.holds == 0 {
		return
	}
	g.holds--
	if g.holds == 0 {
		close(g.open)
	}
}

// opened is closed once the gate is open.
func (g *gate) opened() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// gateOpen waits while the fetcher's gate is held; false if fetching
// stopped meanwhile.
func (p *puller) gateOpen() bool {
	select {
	case <-p.f.gate.opened():
		return true
	default:
	}
	select {
	case <-p.f.gate.opened():
		return true
	case <-p.f.ctx.Done():
		return false
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
