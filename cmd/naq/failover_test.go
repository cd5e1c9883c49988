package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/worker"
)

// runLog records when a worker ran each job.
type runLog struct {
	mu   sync.Mutex
	runs map[string]int
	at   []time.Time
}

func newRunLog() *runLog { return &runLog{runs: map[string]int{}} }

func (l *runLog) record(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[id]++
	l.at = append(l.at, time.Now())
}

// firstAfter is when the first job after t ran (zero: none yet).
func (l *runLog) firstAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, at := range l.at {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// longestGap is the longest pause between two runs from t on.
func (l *runLog) longestGap(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := slices.Clone(l.at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	last := from
	for _, t := range at {
		if t.Before(from) || t.After(to) {
			continue
		}
		gap = max(gap, t.Sub(last))
		last = t
	}
	return gap
}

func (l *runLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}

// checkAllCompleted waits for every job's result and fails t for a job
// lost, failed (a poison job among them) or never run; it returns how many
// ran more than once.
func checkAllCompleted(t *testing.T, ctx context.Context, c *naq.Client, ids []string, log *runLog) (twice int) {
	t.Helper()
	for _, id := range ids {
		for {
			wctx, wc := context.WithTimeout(ctx, 5*time.Second)
			r, err := c.Wait(wctx, id)
			wc()
			if err == nil {
				if r.Status != naq.StateCompleted {
					t.Fatalf("job %s: %s (%s) %v", id, r.Status, r.ErrorKind, r.Error)
				}
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("job %s lost: %v", id, err)
			}
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, id := range ids {
		switch n := log.runs[id]; {
		case n == 0:
			t.Errorf("job %s has a result but never ran", id)
		case n > 1:
			twice++
		}
	}
	return twice
}

// restartable is a naq server process that a test kills (kill -9) and
// starts again on the same port and store.
type restartable struct {
	t           *testing.T
	port, store string
	proc        *serverProc
}

func startRestartable(t *testing.T) *restartable {
	t.Helper()
	r := &restartable{t: t, port: strconv.Itoa(freePort(t)), store: t.TempDir()}
	var err error
	if r.proc, err = launchServer("--port", r.port, "--store", r.store); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.proc.stop() })
	return r
}

// dial connects to the server, reconnecting across its restarts, until the
// test ends.
func (r *restartable) dial(ctx context.Context) *nats.Conn {
	r.t.Helper()
	nc, err := naq.Dial(ctx, naq.WithURL(r.proc.url))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(nc.Close)
	return nc
}

// killFor kills the server, keeps it down for down, starts it again and
// returns when it was killed.
func (r *restartable) killFor(down time.Duration) (killed time.Time) {
	r.t.Helper()
	r.proc.kill()
	killed = time.Now()
	time.Sleep(down)
	var err error
	if r.proc, err = launchServer("--port", r.port, "--store", r.store); err != nil {
		r.t.Fatal(err)
	}
	return killed
}

// enqueueNumbered enqueues n jobs named name, with the ids prefix-0000 on,
// and returns the ids.
func enqueueNumbered(t *testing.T, ctx context.Context, c *naq.Client, name, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	jobs := make([]*naq.Job, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
		var err error
		if jobs[i], err = naq.NewJob(name, nil, naq.JobID(ids[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// A single server killed (kill -9) for two seconds while a worker processes
// jobs: no job is lost or failed, and processing resumes within a second of
// the server being back.
func TestServerRestartResumesWithinASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a server process: skipped with -short")
	}
	const total = 3000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := startRestartable(t)
	c, err := naq.NewClient(ctx, srv.dial(ctx))
	if err != nil {
		t.Fatal(err)
	}
	log := newRunLog()
	w, err := worker.New(srv.dial(ctx), worker.WithConcurrency(10), worker.WithAckWait(5*time.Second), worker.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("tasks:slow", func(_ context.Context, j *naq.Job) (any, error) {
		time.Sleep(5 * time.Millisecond)
		log.record(j.ID)
		return nil, nil
	})
	ids := enqueueNumbered(t, ctx, c, "tasks:slow", "restart", total)
	stopWorker := workertest.Run(t, w)
	defer stopWorker()
	for log.count() < total/4 {
		time.Sleep(10 * time.Millisecond)
	}
	killed := srv.killFor(2 * time.Second)
	back := time.Now()
	t.Logf("server down %s", back.Sub(killed).Round(time.Millisecond))
	deadline := time.Now().Add(30 * time.Second)
	var resumed time.Time
	for resumed.IsZero() && time.Now().Before(deadline) {
		resumed = log.firstAfter(back)
		time.Sleep(5 * time.Millisecond)
	}
	if resumed.IsZero() {
		t.Fatal("no job ran within 30 s of the server coming back")
	}
	twice := checkAllCompleted(t, ctx, c, ids, log)
	took := resumed.Sub(back)
	t.Logf("processing resumed %s after the server was back; %d of %d jobs ran twice", took.Round(time.Millisecond), twice, total)
	if took > time.Second {
		t.Errorf("processing resumed %s after the server was back, want within 1 s", took.Round(time.Millisecond))
	}
	// Only jobs in flight at the kill (10 running, as many delivered behind
	// them) may run again.
	if twice > 20 {
		t.Errorf("%d jobs ran twice; at most the 20 in flight at the kill may", twice)
	}
}

// Producers enqueueing while their server is killed and restarted: every
// Enqueue returns by its deadline (none hangs), the writes in flight at the
// crash are sent again after the reconnect under the same id, and every job
// whose Enqueue succeeded is stored exactly once.
func TestEnqueueAcrossServerRestart(t *testing.T) {
	enqueueAcrossServerRestart(t, func(ctx context.Context, c *naq.Client, id string) error {
		_, err := c.Enqueue(ctx, "tasks:x", nil, naq.JobID(id))
		return err
	})
}

// The same for delayed jobs, whose status record and schedule are two
// writes: each is sent again after the reconnect, where a call in flight
// used to wait out its deadline and fail.
func TestEnqueueInAcrossServerRestart(t *testing.T) {
	enqueueAcrossServerRestart(t, func(ctx context.Context, c *naq.Client, id string) error {
		_, err := c.EnqueueIn(ctx, time.Hour, "tasks:x", nil, naq.JobID(id))
		return err
	})
}

func enqueueAcrossServerRestart(t *testing.T, enqueue func(ctx context.Context, c *naq.Client, id string) error) {
	if testing.Short() {
		t.Skip("restarts a server process: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startRestartable(t)
	c, err := naq.NewClient(ctx, srv.dial(ctx), naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const producers, deadline = 8, 10 * time.Second
	var (
		mu      sync.Mutex
		stored  []string
		failed  int
		slowest time.Duration
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("p%d-%05d", p, i)
				ectx, ecancel := context.WithTimeout(ctx, deadline)
				began := time.Now()
				err := enqueue(ectx, c, id)
				took := time.Since(began)
				ecancel()
				mu.Lock()
				slowest = max(slowest, took)
				if err == nil {
					stored = append(stored, id)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	killed := srv.killFor(time.Second)
	outage := time.Since(killed)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d enqueues stored, %d failed; the slowest took %s across a %s outage", len(stored), failed, slowest.Round(time.Millisecond), outage.Round(time.Millisecond))
	// A write in flight at the crash is sent again once the connection is
	// back, not left waiting for its deadline.
	if failed > 0 || slowest > outage+2*time.Second {
		t.Errorf("%d enqueues failed and the slowest took %s across a %s outage; want none failed, none waiting much past the outage (deadline %s)",
			failed, slowest, outage.Round(time.Millisecond), deadline)
	}
	// Every acknowledged job is in the queue, once.
	js := c.JetStream()
	s, err := js.Stream(ctx, "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // a gap
		}
		seen[m.Header.Get("Nats-Msg-Id")]++
	}
	for _, id := range stored {
		if seen[id] != 1 {
			t.Errorf("job %s acknowledged, stored %d times", id, seen[id])
		}
	}
}

// A worker told to stop after its server is gone stops within its shutdown
// timeout: nothing it does on the way out waits for the lost server.
func TestWorkerStopsAfterServerLossWithinItsTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server process: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := launchServer("--port", strconv.Itoa(freePort(t)), "--store", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.stop)
	nc, err := naq.Dial(ctx, naq.WithURL(srv.url))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 3 * time.Second
	w, err := worker.New(nc, worker.WithConcurrency(4), worker.WithShutdownTimeout(timeout), worker.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 4)
	w.HandleFunc("tasks:long", func(ctx context.Context, _ *naq.Job) (any, error) {
		started <- struct{}{}
		<-ctx.Done() // runs until the shutdown timeout cancels it
		return nil, ctx.Err()
	})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	for range 2 {
		if _, err := c.Enqueue(ctx, "tasks:long", nil); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	<-started
	srv.kill()
	time.Sleep(500 * time.Millisecond)
	began := time.Now()
	stop()
	select {
	case err := <-done:
		took := time.Since(began)
		t.Logf("stopped %s after being told to, its server gone", took.Round(time.Millisecond))
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		if took > timeout+2*time.Second {
			t.Errorf("stop took %s, over the %s shutdown timeout", took.Round(time.Millisecond), timeout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop within 30 s of being told to, its server gone")
	}
}
