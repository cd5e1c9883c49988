package fetch

// Slots: how many jobs may run at once, taken before a pull asks for them
// and freed when a job's call returns.

import (
	"sync"
	"time"
)

// slots counts the worker's free handler slots. Pullers take them in batches
// and are woken only once enough are free for the smallest batch one of them
// waits for, not on every job that finishes: a wakeup per job costs more than
// the job's own bookkeeping.
//
// A puller with no slot at all waits its turn: freed slots go first to such
// pullers, in the order they came. Without turns, when a worker has fewer
// slots than queues, whichever queue's puller happened to run first would
// take back the slot it had just given up, and another queue could wait
// indefinitely.
type slots struct {
	mu    sync.Mutex
	free  int
	need  int           // fewest free slots a waiting puller wants; 0: none waits
	ready chan struct{} // closed (and replaced) once need slots are free
	turns []turn        // pullers waiting for a first slot, oldest first
	// prio decides which waiting puller a free slot goes to (priority.go);
	// nil: the oldest.
	prio *priority

	// Delivered jobs waiting among the turns (listen.go): granted holds
	// those handed a slot under the lock, started by start once it is
	// released; jobs counts the ones running on goroutines of their own.
	granted []*Msg
	start   func([]*Msg)
	jobs    sync.WaitGroup
	closed  bool // the fetcher stopped: no job waits any more
}

// turn is a puller waiting for a slot (ch is closed when it is handed one),
// or a job delivered without a slot (started when it is handed one).
type turn struct {
	ch    chan struct{}
	job   *Msg
	since time.Time // the job's delivery or last keepalive
	q     int       // the queue, by index
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

// first takes one slot for queue q, waiting its turn behind pullers that
// wait for one already; false if done closes first.
func (s *slots) first(done <-chan struct{}, q int) bool {
	s.mu.Lock()
	if s.free > 0 && len(s.turns) == 0 && (s.prio == nil || s.prio.eligible(q, s.turns)) {
		s.free--
		if s.prio != nil {
			s.prio.charge(q)
		}
		s.mu.Unlock()
		return true
	}
	mine := make(chan struct{})
	s.turns = append(s.turns, turn{ch: mine, q: q})
	if s.prio != nil {
		s.dispatch() // a slot held back for this queue
	}
	s.unlockAndStart()
	select {
	case <-mine:
		return true
	case <-done:
	}
	s.mu.Lock()
	for i, t := range s.turns {
		if t.ch == mine {
			s.turns = append(s.turns[:i], s.turns[i+1:]...)
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Unlock()
	s.release(1) // handed a slot as it gave up
	return false
}

// tryTake takes one free slot if there is one and no puller waits its turn.
func (s *slots) tryTake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 && len(s.turns) == 0 {
		s.free--
		return true
	}
	return false
}

func (s *slots) release(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.free += n
	s.dispatch()
	if s.need > 0 && s.free >= s.need {
		close(s.ready)
		s.ready, s.need = make(chan struct{}), 0
	}
	s.unlockAndStart()
}

// unlockAndStart releases the lock and starts the jobs dispatch handed a
// slot meanwhile.
func (s *slots) unlockAndStart() {
	g := s.granted
	s.granted = nil
	s.mu.Unlock()
	if len(g) > 0 {
		s.start(g)
	}
}

// dispatch hands free slots to waiting pullers: the oldest, or the one the
// priorities choose.
func (s *slots) dispatch() {
	for s.free > 0 && len(s.turns) > 0 {
		i := 0
		if s.prio != nil {
			if i = s.prio.pick(s.turns); i < 0 {
				return // held back for a heavier queue that is busy
			}
			s.prio.charge(s.turns[i].q)
		}
		if t := s.turns[i]; t.job != nil {
			// Counted here, under the lock, so that Drain's wait cannot
			// begin between the grant and the job's start.
			s.jobs.Add(1)
			s.granted = append(s.granted, t.job)
		} else {
			close(t.ch)
		}
		s.turns, s.free = append(s.turns[:i], s.turns[i+1:]...), s.free-1
	}
}

// acquire waits for a first slot for queue q (in turn, see slots) and takes
// every free one besides; when want is more than one it waits up to a
// millisecond for that many. false once done is closed. With priorities it
// takes one slot at a time: each goes where the priorities say.
func (s *slots) acquire(done <-chan struct{}, want, q int) (int, bool) {
	if !s.first(done, q) {
		return 0, false
	}
	if s.prio != nil {
		return 1, true
	}
	got, _ := s.take(0)
	n := 1 + got
	var deadline <-chan time.Time
	for n < want {
		got, ready := s.take(want - n)
		if n += got; n >= want || ready == nil {
			continue
		}
		if deadline == nil {
			t := time.NewTimer(time.Millisecond)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ready:
		case <-deadline:
			got, _ := s.take(0)
			return n + got, true
		case <-done:
			s.release(n)
			return 0, false
		}
	}
	return n, true
}
