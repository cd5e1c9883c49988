package worker

import "time"

// acquire waits for one free slot, then takes every other free one; when want
// is more than one it waits up to a millisecond for that many.
func (r *run) acquire(want int) (int, bool) {
	select {
	case <-r.fetchCtx.Done():
		return 0, false
	case <-r.slots:
	}
	n := 1
	var deadline <-chan time.Time
	for {
		select {
		case <-r.slots:
			n++
			continue
		default:
		}
		if n >= want {
			return n, true
		}
		if deadline == nil {
			t := time.NewTimer(time.Millisecond)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-r.slots:
			n++
		case <-deadline:
			return n, true
		case <-r.fetchCtx.Done():
			r.release(n)
			return 0, false
		}
	}
}

func (r *run) release(n int) {
	for range n {
		r.slots <- struct{}{}
	}
}
