package fetch

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

// Handlers that block do not hold up the jobs queued behind them: every
// goroutine of the pool ends up running one.
func TestHandlerPoolRunsQueuedJobsBesideBlockedOnes(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 16
	work := make(chan *nats.Msg, 2*n)
	release := make(chan struct{})
	var running atomic.Int32
	p := newHandlerPool(work, n, func(*nats.Msg) {
		running.Add(1)
		<-release
	})
	// Jobs arrive one by one, then in a burst: both must spread out.
	for range n / 2 {
		work <- &nats.Msg{}
		time.Sleep(5 * time.Millisecond)
	}
	for range n / 2 {
		work <- &nats.Msg{}
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := running.Load(); got != n {
		t.Fatalf("%d of %d blocked jobs running; the rest wait behind them", got, n)
	}
	close(release)
	close(work)
	p.close()
}

// At shutdown the queued jobs still run, and every goroutine exits.
func TestHandlerPoolDrainsOnClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	work := make(chan *nats.Msg, 100)
	var ran atomic.Int32
	var mu sync.Mutex
	p := newHandlerPool(work, 8, func(*nats.Msg) {
		mu.Lock() // slow the handlers so jobs are still queued at close
		time.Sleep(100 * time.Microsecond)
		mu.Unlock()
		ran.Add(1)
	})
	for range 100 {
		work <- &nats.Msg{}
	}
	close(work)
	p.close()
	if got := ran.Load(); got != 100 {
		t.Fatalf("%d of 100 queued jobs ran", got)
	}
}

// Short jobs that arrive one at a time run on few goroutines: none is woken
// for a delivery while another is free to take it. (A pool whose goroutines
// all wait on the channel hands the deliveries round the whole pool.)
func TestHandlerPoolRunsAStreamOfShortJobsOnFewGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	work := make(chan *nats.Msg, 64)
	var mu sync.Mutex
	used := map[string]bool{}
	var done sync.WaitGroup
	p := newHandlerPool(work, 64, func(*nats.Msg) {
		mu.Lock()
		used[goroutineID()] = true
		mu.Unlock()
		done.Done()
	})
	done.Add(300)
	for range 300 {
		work <- &nats.Msg{}
		time.Sleep(50 * time.Microsecond)
	}
	done.Wait()
	close(work)
	p.close()
	if len(used) > 8 {
		t.Fatalf("300 short jobs ran on %d goroutines", len(used))
	}
}

// goroutineID is the running goroutine's number, read from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// Long handlers with nothing queued behind them: the monitor looks less and
// less often, not every millisecond.
func TestHandlerPoolMonitorQuietensWhileLongJobsRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	work := make(chan *nats.Msg, 8)
	release := make(chan struct{})
	p := newHandlerPool(work, 4, func(*nats.Msg) { <-release })
	work <- &nats.Msg{}
	work <- &nats.Msg{}
	time.Sleep(300 * time.Millisecond)
	// At a fixed millisecond that is about 300 looks; backing off to 16 ms,
	// under 30.
	if n := p.checks.Load(); n > 60 {
		t.Errorf("%d looks in 300 ms with two long jobs and nothing queued", n)
	}
	close(release)
	close(work)
	p.close()
}

// A job that starts just as the monitor goes to sleep keeps the monitor
// awake and ticking: a job queued behind it still gets a goroutine.
func TestHandlerPoolMonitorWakesForAJobStartedAsItSlept(t *testing.T) {
	defer goleak.VerifyNone(t)
	work := make(chan *nats.Msg, 8)
	release := make(chan struct{})
	started := make(chan string, 8)
	p := newHandlerPool(work, 4, func(m *nats.Msg) {
		started <- m.Subject
		if m.Subject != "quick" {
			<-release
		}
	})
	var once sync.Once
	p.goingIdle = func() {
		once.Do(func() {
			// A long job starts in the window: after the monitor's last look,
			// before it marks itself asleep, so the job kicks no one. Wait
			// until it is taken, a count that only grows: whether it is still
			// running can change back before this goroutine looks (when the
			// test got through quickly and released it), and waiting on that
			// hung the monitor, and so the test, for good.
			before := p.taken.Load()
			work <- &nats.Msg{Subject: "long"}
			for deadline := time.Now().Add(5 * time.Second); p.taken.Load() == before && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	work <- &nats.Msg{Subject: "quick"} // wakes the monitor, which then goes idle
	for _, want := range []string{"quick", "long"} {
		select {
		case got := <-started:
			if got != want {
				t.Fatalf("started %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s never started", want)
		}
	}
	work <- &nats.Msg{Subject: "behind"} // nobody waits on the channel: the monitor must wake someone
	select {
	case <-started:
	case <-time.After(time.Second):
		t.Error("a job queued behind a running one waited: the monitor fell asleep")
	}
	close(release)
	close(work)
	p.close()
}

// A look wakes goroutines only for deliveries that waited since the last look
// untaken: a burst the running goroutines are working through wakes no one.
func TestHandlerPoolWakesOnlyForDeliveriesLeftWaiting(t *testing.T) {
	for _, c := range []struct {
		name                       string
		lastQueued, queued, parked int
		taken                      int64
		want                       int
	}{
		{"first look at a burst", 0, 30, 63, 0, 0},
		{"burst being worked through", 30, 12, 63, 30, 0},
		{"burst taken and more arrived", 30, 40, 63, 45, 0},
		{"handlers blocked", 8, 8, 16, 0, 8},
		{"some taken", 8, 10, 16, 3, 5},
		{"fewer queued now", 8, 2, 16, 0, 2},
		{"few parked", 8, 8, 3, 0, 3},
	} {
		if got := toWake(c.lastQueued, c.taken, c.queued, c.parked); got != c.want {
			t.Errorf("%s: toWake(%d, %d, %d, %d) = %d, want %d", c.name, c.lastQueued, c.taken, c.queued, c.parked, got, c.want)
		}
	}
}
