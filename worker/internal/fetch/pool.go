package fetch

// The pool of handler goroutines that runs delivered messages: up to one per
// slot, parked while idle. Not here: how many may run (slots.go).

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// The pool looks for deliveries queued behind busy handlers every
// stallCheck while it finds some, and wakes a goroutine for each delivery
// that was already queued at its last look and has not been taken since: a
// job waits at most about two looks for an idle goroutine when the running
// ones block. Each look that finds none queued doubles the wait, up to
// quietCheck: handlers that run long with nothing queued behind them cost a
// few dozen wakeups a second, not a thousand.
const (
	stallCheck = time.Millisecond
	quietCheck = 16 * time.Millisecond
)

// handlerPool runs deliveries on up to n goroutines without waking one for
// each delivery. One idle goroutine waits on the delivery channel; the others
// park apart. A goroutine that finishes a job takes the next queued one
// itself, so a stream of short jobs runs on few goroutines. A monitor, running
// only while jobs do, wakes parked goroutines for deliveries that stay queued
// from one look to the next (stallCheck apart, quietCheck after a quiet
// spell): jobs queued behind handlers that block start within two looks.
// Waking a parked goroutine for every delivery, or for every delivery merely
// queued at a look when the running goroutines were about to take it, cost
// measurably more CPU per job (docs/architecture.md, "How a worker pulls
// jobs", has the figures).
type handlerPool struct {
	work   <-chan *nats.Msg
	handle func(*nats.Msg)

	wake    chan struct{} // one token wakes one parked goroutine
	kick    chan struct{} // starts the monitor
	stop    chan struct{} // closed at shutdown: parked goroutines drain and exit
	waiting atomic.Int32  // goroutines blocked on work
	parked  atomic.Int32
	busy    atomic.Int32 // goroutines running a job
	taken   atomic.Int64 // deliveries taken off work so far
	idle    atomic.Bool  // the monitor waits for a kick
	checks  atomic.Int64 // looks the monitor took, for tests
	wg      sync.WaitGroup

	// goingIdle, when set (by tests), runs as the monitor decides to sleep,
	// between its last look and the mark that it sleeps.
	goingIdle func()
}

func newHandlerPool(work <-chan *nats.Msg, n int, handle func(*nats.Msg)) *handlerPool {
	p := &handlerPool{
		work: work, handle: handle,
		wake: make(chan struct{}, n), kick: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	p.idle.Store(true)
	p.wg.Add(n + 1)
	for range n {
		go p.run()
	}
	go p.monitor()
	return p
}

func (p *handlerPool) run() {
	defer p.wg.Done()
	woken := false
	for {
		if !woken && p.waiting.Load() > 0 {
			// Another goroutine waits for the next delivery: park.
			p.park()
			woken = true
			continue
		}
		woken = false
		m, ok := p.next()
		if !ok {
			return
		}
		p.busy.Add(1)
		p.taken.Add(1)
		if p.idle.CompareAndSwap(true, false) {
			p.kick <- struct{}{}
		}
		p.handle(m)
		p.busy.Add(-1)
	}
}

// stackBallast keeps a waiting handler goroutine's stack from shrinking. The
// collector halves the stack of a goroutine that uses under a quarter of it,
// and a job's path (decoding, the handler, the result's write) grows it back
// at once, which costs a worker that collects often a visible share of its
// CPU. Waiting inside a frame this large keeps the stack in use enough not to
// be shrunk, for a few KB of stack per handler goroutine and the zeroing of
// the frame on each wait (figures: docs/architecture.md).
const stackBallast = 2048

// park waits to be woken, or for the pool to stop.
//
//go:noinline
func (p *handlerPool) park() {
	var ballast [stackBallast]byte
	p.parked.Add(1)
	select {
	case <-p.wake:
	case <-p.stop:
	}
	p.parked.Add(-1)
	runtime.KeepAlive(&ballast)
}

// next waits for a delivery; false once work is closed.
//
//go:noinline
func (p *handlerPool) next() (*nats.Msg, bool) {
	var ballast [stackBallast]byte
	p.waiting.Add(1)
	m, ok := <-p.work
	p.waiting.Add(-1)
	runtime.KeepAlive(&ballast)
	return m, ok
}

// monitor wakes parked goroutines for deliveries left queued, checking every
// stallCheck to quietCheck while any job runs, and sleeping otherwise.
func (p *handlerPool) monitor() {
	defer p.wg.Done()
	t := time.NewTicker(stallCheck)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-p.kick:
			t.Reset(stallCheck)
		case <-p.stop:
			return
		}
		every := stallCheck
		lastQueued, lastTaken := 0, p.taken.Load()
		for running := true; running; {
			select {
			case <-t.C:
			case <-p.stop:
				return
			}
			p.checks.Add(1)
			queued, taken := len(p.work), p.taken.Load()
			n := toWake(lastQueued, taken-lastTaken, queued, int(p.parked.Load()))
			lastQueued, lastTaken = queued, taken
			for ; n > 0; n-- {
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
			next := stallCheck
			if queued == 0 {
				next = min(2*every, quietCheck)
			}
			if next != every {
				every = next
				t.Reset(every)
			}
			if queued == 0 && p.busy.Load() == 0 {
				t.Stop()
				if p.goingIdle != nil {
					p.goingIdle()
				}
				p.idle.Store(true)
				// A job that started after the check above kicked no one:
				// look again before sleeping, and keep looking if one did.
				if running = p.busy.Load() > 0 && p.idle.CompareAndSwap(true, false); running {
					every = stallCheck
					t.Reset(every)
				}
			}
		}
	}
}

// toWake is how many parked goroutines a look wakes: one for each delivery
// that was queued at the last look and has not been taken since (the running
// goroutines are not getting to it), no more than are queued now or parked.
// Deliveries that the running goroutines take between two looks wake no one.
func toWake(lastQueued int, takenSince int64, queued, parked int) int {
	return max(0, min(lastQueued-int(takenSince), queued, parked))
}

// close lets the goroutines drain what is queued and exit once work is
// closed, and waits for them.
func (p *handlerPool) close() {
	close(p.stop)
	p.wg.Wait()
}
