package worker

// Cancellations as a worker sees them: naq_cancelled mirrored in memory and
// watched, so a cancelled job never starts and a running one has its context
// cancelled. Not here: cancelling a job (the client's Cancel).

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// cancelSet mirrors naq_cancelled in memory, so checking whether a job was
// cancelled costs no I/O on the job path.
type cancelSet struct {
	mu  sync.RWMutex
	ids map[string]struct{}
	// n is len(ids): with nothing cancelled, the usual case, a job's checks
	// read it instead of taking the lock every handler shares.
	n atomic.Int64
}

func (s *cancelSet) has(id string) bool {
	if s.n.Load() == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.ids[id]
	return ok
}

func (s *cancelSet) set(id string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.ids[id] = struct{}{}
	} else {
		delete(s.ids, id)
	}
	s.n.Store(int64(len(s.ids)))
}

// watchCancellations loads the cancelled ids, then keeps following them in the
// background, cancelling the handler of a running job that gets cancelled.
func (r *run) watchCancellations(ctx context.Context) error {
	kv, err := layout.EnsureBucket(ctx, r.sh.JS, r.sh.layout(), layout.CancelledBucket)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(r.bg)
	if err != nil {
		return fmt.Errorf("watch cancellations: %w", err)
	}
	apply := func(e jetstream.KeyValueEntry) {
		on := e.Operation() == jetstream.KeyValuePut
		r.cancelled.set(e.Key(), on)
		if on {
			r.inflight.cancelJob(e.Key(), naq.ErrCancelled)
		}
	}
	for loaded := false; !loaded; {
		select {
		case e := <-w.Updates():
			if e == nil {
				loaded = true
				continue
			}
			apply(e)
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		}
	}
	r.goBackground(func() {
		defer func() {
			// Stopping the watch asks the server to drop its consumer; with no
			// server that waits seconds for nothing, and the server drops an
			// idle watch's consumer by itself.
			if r.sh.Conn.IsConnected() {
				_ = w.Stop()
			}
		}()
		for {
			select {
			case <-r.bg.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					apply(e)
				}
			}
		}
	})
	return nil
}
