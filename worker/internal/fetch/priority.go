package fetch

// Queue priorities: which waiting puller a free slot goes to. Weighted, a
// slot goes to the queue furthest behind its share (stride scheduling: each
// slot a queue takes moves it forward by the inverse of its weight, and the
// queue that has moved least goes next), so under backlog on every queue
// each queue's share of the slots matches its weight. Strict, a slot goes to
// the heaviest queue that wants one, and is held back from a lighter queue
// while a heavier one is busy (its last pull brought jobs) even if that
// one's puller is between two requests.

// strideUnit is the distance a queue of weight 1 moves per slot.
const strideUnit = 1 << 20

type priority struct {
	strict bool
	rank   []int   // per queue: 0 for the heaviest
	stride []int64 // per queue: strideUnit / weight
	pass   []int64 // per queue: how far it has moved
	vt     int64   // the pass at which the last slot went
	maxLag int64   // how far behind a queue back from idle may start
	busy   []bool  // per queue: its last pull request brought jobs
}

// newPriority makes the policy for queues of the given weights (each at
// least 1), in the order of the fetcher's queues.
func newPriority(weights []int, strict bool) *priority {
	n := len(weights)
	p := &priority{strict: strict, rank: make([]int, n), stride: make([]int64, n), pass: make([]int64, n), busy: make([]bool, n)}
	for i, w := range weights {
		// Every queue counts as busy until a pull finds it empty: a lighter
		// queue does not slip in while the heavier ones make their first
		// requests.
		p.busy[i] = strict
		p.stride[i] = strideUnit / int64(max(w, 1))
		p.maxLag = max(p.maxLag, 4*p.stride[i])
		for j, v := range weights {
			if v > w || v == w && j < i {
				p.rank[i]++ // heavier, or as heavy and listed first
			}
		}
	}
	return p
}

// charge counts a slot given to queue q.
func (p *priority) charge(q int) {
	// A queue back from idle starts a little behind the others, not as far
	// behind as it fell: it must not take every slot until it caught up.
	at := max(p.pass[q], p.vt-p.maxLag)
	p.vt, p.pass[q] = at, at+p.stride[q]
}

// eligible reports whether queue q may take a slot now: in strict mode, not
// while a heavier queue is busy and not waiting among turns (it is between
// two requests, and will want the slot).
func (p *priority) eligible(q int, turns []turn) bool {
	if !p.strict {
		return true
	}
	for h, busy := range p.busy {
		if busy && p.rank[h] < p.rank[q] && !waiting(turns, h) {
			return false
		}
	}
	return true
}

func waiting(turns []turn, q int) bool {
	for _, t := range turns {
		if t.q == q {
			return true
		}
	}
	return false
}

// pick returns the index of the turn a free slot goes to, or -1 to hold it
// back.
func (p *priority) pick(turns []turn) int {
	best := -1
	for i, t := range turns {
		if best >= 0 && t.q == turns[best].q {
			continue // the oldest turn of each queue goes first
		}
		switch {
		case p.strict && !p.eligible(t.q, turns):
		case best < 0:
			best = i
		case p.strict && p.rank[t.q] < p.rank[turns[best].q]:
			best = i
		case !p.strict && p.pass[t.q] < p.pass[turns[best].q]:
			best = i
		}
	}
	return best
}

// setBusy records whether queue q's last pull brought jobs, and hands out
// the slots that were held back for it.
func (s *slots) setBusy(q int, busy bool) {
	s.mu.Lock()
	if s.prio.busy[q] != busy {
		s.prio.busy[q] = busy
		s.dispatch()
	}
	s.unlockAndStart()
}
