package worker

import (
	"sync"
	"time"
)

// slots counts the worker's free handler slots. Pullers take them in batches
// and are woken only once enough are free for the smallest batch one of them
// waits for, not on every job that finishes: a wakeup per job costs more than
// the job's own bookkeeping.
type slots struct {
	mu    sync.Mutex
	free  int
	need  int           // fewest free slots a waiting puller wants; 0: none waits
	ready chan struct{} // closed (and replaced) once need slots are free
}

func newSlots(n int) *slots { return &slots{free: n, ready: make(chan struct{})} }

// take removes every free slot and returns how many it took. When that is
// fewer than want, it also returns a channel closed once enough are free for
// a waiting puller: the caller should take again then.
func (s *slots) take(want int) (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.free
	s.free = 0
	if n >= want {
		return n, nil
	}
	if s.need == 0 || want-n < s.need {
		s.need = want - n
	}
	return n, s.ready
}

func (s *slots) release(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free += n
	if s.need > 0 && s.free >= s.need {
		close(s.ready)
		s.ready, s.need = make(chan struct{}), 0
	}
}

// acquire waits for at least one free slot and takes every free one; when
// want is more than one it waits up to a millisecond for that many.
func (r *run) acquire(want int) (int, bool) {
	n := 0
	var deadline <-chan time.Time
	for {
		// Wake on the first free slot, then on the batch or the deadline.
		need := 1
		if n > 0 {
			need = want - n
		}
		got, ready := r.slots.take(need)
		if n += got; n >= want {
			return n, true
		}
		if n > 0 && deadline == nil {
			t := time.NewTimer(time.Millisecond)
			defer t.Stop()
			deadline = t.C
		}
		if ready == nil {
			continue // enough for the first slot: now wait for the batch
		}
		select {
		case <-ready:
		case <-deadline:
			got, _ := r.slots.take(0)
			return n + got, true
		case <-r.fetchCtx.Done():
			r.release(n)
			return 0, false
		}
	}
}

func (r *run) release(n int) { r.slots.release(n) }
