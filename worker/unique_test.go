package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// 16 producers, each on its own connection, enqueue the same unique job 1,000
// times in all: in every scope exactly one job is stored, and every call is
// told the id of that job.
func TestUniqueConcurrentProducers(t *testing.T) {
	srv, _ := testutil.Server(t)
	ctx := t.Context()
	const producers, total = 16, 1000
	clients := make([]*naq.Client, producers)
	for i := range clients {
		nc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if clients[i], err = naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger())); err != nil {
			t.Fatal(err)
		}
	}
	scopes := map[string]naq.UniqueOption{
		"pending": naq.WhilePending(), "active": naq.WhileActive(), "period": naq.ForPeriod(time.Hour),
	}
	for name, scope := range scopes {
		var next, fresh, dups atomic.Int64
		ids := sync.Map{}
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() {
				for next.Add(1) <= total {
					j, err := c.Enqueue(ctx, "report:build", naq.Kwargs{"day": "2026-12-03"}, naq.Queue("u-"+name), naq.Unique(scope))
					if err != nil {
						t.Errorf("%s: enqueue: %v", name, err)
						return
					}
					ids.Store(j.ID, true)
					if j.Duplicate {
						dups.Add(1)
					} else {
						fresh.Add(1)
					}
				}
			})
		}
		wg.Wait()
		n := 0
		ids.Range(func(any, any) bool { n++; return true })
		if fresh.Load() != 1 || dups.Load() != total-1 || n != 1 {
			t.Errorf("%s: %d new jobs, %d duplicates, %d distinct ids; want 1, %d, 1", name, fresh.Load(), dups.Load(), n, total-1)
		}
		if stored, err := clients[0].Purge(ctx, "u-"+name); err != nil || stored != 1 {
			t.Errorf("%s: %d jobs stored on the queue (%v), want 1", name, stored, err)
		}
	}
}

// gate lets a test hold a job in its handler.
type gate struct {
	started chan string
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 16), release: make(chan struct{})} }

func (g *gate) handler(ctx context.Context, job *naq.Job) (any, error) {
	g.started <- job.ID
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return "done", nil
}

func (g *gate) waitStart(t *testing.T, want string) {
	t.Helper()
	select {
	case id := <-g.started:
		if id != want {
			t.Fatalf("job %s started, want %s", id, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("job %s never started", want)
	}
}

func enqueueUnique(t *testing.T, c *naq.Client, q string, args any, opts ...naq.UniqueOption) *naq.Job {
	t.Helper()
	j, err := c.Enqueue(t.Context(), "unique:job", args, naq.Queue(q), naq.Unique(opts...))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestUniqueScopes(t *testing.T) {
	e := newEnv(t)
	g := newGate()
	e.startWorker(t, func(w *worker.Worker) { w.HandleFunc("unique:job", g.handler) },
		worker.WithQueues("pending", "active", "period"), worker.WithConcurrency(4))

	t.Run("while pending", func(t *testing.T) {
		a := enqueueUnique(t, e.client, "pending", naq.Args{1}, naq.WhilePending())
		g.waitStart(t, a.ID)
		// A runs: the key is free again, and the next job holds it while
		// it waits behind A's slot... and then starts in its own.
		b := enqueueUnique(t, e.client, "pending", naq.Args{1}, naq.WhilePending())
		if b.Duplicate || b.ID == a.ID {
			t.Fatalf("enqueued while the first job runs: %+v, want a new job", b)
		}
		g.waitStart(t, b.ID)
		g.release <- struct{}{}
		g.release <- struct{}{}
		e.wait(t, a.ID)
		e.wait(t, b.ID)
	})

	t.Run("while active", func(t *testing.T) {
		a := enqueueUnique(t, e.client, "active", naq.Args{2})
		g.waitStart(t, a.ID)
		if d := enqueueUnique(t, e.client, "active", naq.Args{2}); !d.Duplicate || d.ID != a.ID {
			t.Fatalf("enqueued while the first job runs: %+v, want a duplicate of %s", d, a.ID)
		}
		g.release <- struct{}{}
		e.wait(t, a.ID)
		b := enqueueUnique(t, e.client, "active", naq.Args{2})
		if b.Duplicate {
			t.Fatalf("enqueued after the first job ended: %+v, want a new job", b)
		}
		g.waitStart(t, b.ID)
		g.release <- struct{}{}
		e.wait(t, b.ID)
	})

	t.Run("for a period", func(t *testing.T) {
		a := enqueueUnique(t, e.client, "period", naq.Args{3}, naq.ForPeriod(2*time.Second))
		g.waitStart(t, a.ID)
		g.release <- struct{}{}
		e.wait(t, a.ID)
		if d := enqueueUnique(t, e.client, "period", naq.Args{3}, naq.ForPeriod(2*time.Second)); !d.Duplicate || d.ID != a.ID {
			t.Fatalf("enqueued within the period after the job ended: %+v, want a duplicate of %s", d, a.ID)
		}
		var b *naq.Job
		testutil.Eventually(t, 15*time.Second, "the period to end", func() bool {
			b = enqueueUnique(t, e.client, "period", naq.Args{3}, naq.ForPeriod(2*time.Second))
			return !b.Duplicate
		})
		g.waitStart(t, b.ID)
		g.release <- struct{}{}
		e.wait(t, b.ID)
	})
}

// A lock whose job is lost (no worker ever ends it) expires by its TTL.
func TestUniqueLockExpires(t *testing.T) {
	e := newEnv(t)
	a := enqueueUnique(t, e.client, "nobody", naq.Args{1}, naq.UniqueTTL(time.Second))
	if d := enqueueUnique(t, e.client, "nobody", naq.Args{1}, naq.UniqueTTL(time.Second)); !d.Duplicate || d.ID != a.ID {
		t.Fatalf("second enqueue: %+v, want a duplicate of %s", d, a.ID)
	}
	testutil.Eventually(t, 15*time.Second, "the lock to expire", func() bool {
		return !enqueueUnique(t, e.client, "nobody", naq.Args{1}, naq.UniqueTTL(time.Second)).Duplicate
	})
}

// What makes two jobs the same: a key, whatever the arguments; by default the
// queue, name and arguments, keyword order aside.
func TestUniqueKeys(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := enqueueUnique(t, e.client, "k", naq.Args{1}, naq.ByKey("invoice-42"))
	if d := enqueueUnique(t, e.client, "other", naq.Args{2}, naq.ByKey("invoice-42")); !d.Duplicate || d.ID != a.ID {
		t.Errorf("same key, other arguments and queue: %+v, want a duplicate of %s", d, a.ID)
	}
	kw := map[string]any{"a": 1, "b": []int{2, 3}, "c": map[string]any{"x": 1, "y": 2}}
	b := enqueueUnique(t, e.client, "k", kw)
	if d := enqueueUnique(t, e.client, "k", map[string]any{"c": map[string]any{"y": 2, "x": 1}, "b": []int{2, 3}, "a": 1}); !d.Duplicate || d.ID != b.ID {
		t.Errorf("same keyword arguments in another order: %+v, want a duplicate of %s", d, b.ID)
	}
	for _, other := range []struct {
		q    string
		args any
	}{{"k", naq.Kwargs{"a": 2}}, {"k2", kw}, {"k", naq.Args{kw}}} {
		if d := enqueueUnique(t, e.client, other.q, other.args); d.Duplicate {
			t.Errorf("queue %s, arguments %v: a duplicate, want a new job", other.q, other.args)
		}
	}
	if _, err := e.client.Enqueue(ctx, "x", nil, naq.Unique(naq.ByKey(""))); err == nil {
		t.Error("an empty unique key was accepted")
	}
	if _, err := e.client.Enqueue(ctx, "x", nil, naq.Unique(naq.ForPeriod(time.Millisecond))); err == nil {
		t.Error("a period under a second was accepted")
	}
}
