package fetch

// Many queues on one worker: an idle queue listens for its next job without
// holding a slot, and slots go to jobs that have arrived and to the queues
// with a backlog.
//
// With a single queue, a pull request reserves its slots before it goes out
// (pull.go), so the worker never holds a job it has no slot for. With many
// queues that costs a job's start: an idle queue's request would hold a slot
// for as long as it stays open, a worker with fewer slots than queues could
// only listen on some of them at a time, and a queue whose last request
// reserved a batch would keep it while other queues' jobs waited. So here:
//
//   - an idle queue keeps one request for one job open, with no slot;
//   - a job that arrives takes a free slot, or waits for the next one among
//     the turns (slots.go), in order or as the priorities say; the fetcher
//     keeps it alive meanwhile (InProgress), so it is not redelivered;
//   - a queue asks for a batch of slots only for the backlog its last
//     delivery reported (the pending count of the message's ack subject), so
//     slots go to queues with work, and a queue that ran dry listens again.
//
// A queue with a cap on running jobs (WithMaxRunning) only listens: the
// server would not fill a batch beyond the cap, and the slots reserved for
// it would wait for nothing.

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// admitJob takes a free slot for a job of queue q that arrived without one:
// run reports it runs now. Otherwise it waits for one among the turns
// (queued), or, once the fetcher has stopped, neither: it goes back.
func (s *slots) admitJob(job *Msg, q int) (run, queued bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, false
	}
	if s.free > 0 && len(s.turns) == 0 && (s.prio == nil || s.prio.eligible(q, s.turns)) {
		s.free--
		if s.prio != nil {
			s.prio.charge(q)
		}
		s.mu.Unlock()
		return true, false
	}
	s.turns = append(s.turns, turn{job: job, q: q, since: time.Now()})
	if s.prio != nil {
		s.dispatch() // a slot held back for this queue
	}
	s.unlockAndStart()
	return false, true
}

// handOff frees the slot of a job that ended, or hands it to a job waiting
// for one, returned to run on the caller's goroutine.
func (s *slots) handOff() *Msg {
	s.mu.Lock()
	s.free++
	s.dispatch()
	if s.need > 0 && s.free >= s.need {
		close(s.ready)
		s.ready, s.need = make(chan struct{}), 0
	}
	var next *Msg
	if len(s.granted) > 0 {
		next, s.granted = s.granted[0], s.granted[1:]
		s.jobs.Done() // it runs here, not on a goroutine of its own
	}
	s.unlockAndStart()
	return next
}

// closeJobs takes out the jobs still waiting for a slot, for the caller to
// put back, and makes every later one go back at once.
func (s *slots) closeJobs() []*Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var jobs []*Msg
	kept := s.turns[:0]
	for _, t := range s.turns {
		if t.job != nil {
			jobs = append(jobs, t.job)
		} else {
			kept = append(kept, t)
		}
	}
	clear(s.turns[len(kept):])
	s.turns = kept
	return jobs
}

// stale returns the waiting jobs last kept alive before before, marking
// them kept alive at now.
func (s *slots) stale(before, now time.Time) []*Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var jobs []*Msg
	for i, t := range s.turns {
		if t.job != nil && t.since.Before(before) {
			s.turns[i].since = now
			jobs = append(jobs, t.job)
		}
	}
	return jobs
}

// runGranted starts jobs handed a slot outside a handler goroutine, each on
// a goroutine of its own that goes on with the next waiting job if any.
func (f *Fetcher) runGranted(jobs []*Msg) {
	for _, j := range jobs {
		go func() {
			defer f.slots.jobs.Done()
			for m := j; m != nil; m = f.slots.handOff() {
				f.handle(m)
			}
		}()
	}
}

// keepWaitingAlive tells the server, well within the ack wait, that jobs
// waiting for a slot are still being handled, so they are not redelivered.
func (f *Fetcher) keepWaitingAlive(now time.Time) {
	for _, m := range f.slots.stale(now.Add(-f.keepEvery), now) {
		_ = m.InProgress()
	}
}

// pullShared is one round of a puller's loop on a worker with several
// queues: a batch for the backlog, a listening request, or a wait. sent
// reports a request that went out; ok is false once fetching stopped.
func (p *puller) pullShared(kick bool, tick <-chan time.Time) (sent, ok bool) {
	f := p.f
	p.mu.Lock()
	open, want := len(p.reqs), p.backlog
	for _, r := range p.reqs {
		want -= r.left
	}
	probe := !p.probed
	p.probed = true
	p.mu.Unlock()
	if p.capped {
		want = 0
	}
	switch {
	case want > 0 && open < maxOpenPulls:
		if !p.gateOpen() {
			return false, false
		}
		n, ok := f.slots.acquire(f.ctx.Done(), min(want, max(1, f.cfg.Concurrency/4)), p.qi)
		if !ok {
			return false, false
		}
		if n > want { // acquire takes every free slot
			f.slots.release(n - want)
			n = want
		}
		if err := p.request(n, f.batchWait, false, false); err != nil {
			f.slots.release(n)
			p.requestFailed(err)
			return false, f.ctx.Err() == nil
		}
		return true, true
	case open == 0 || kick && open < maxOpenPulls:
		if !p.gateOpen() {
			return false, false
		}
		// The first asks without waiting: an empty queue says so at once,
		// which ends its strict priority's claim on the slots.
		wait := f.listenWait
		if probe {
			wait = 0
		}
		if err := p.request(1, wait, true, probe); err != nil {
			p.requestFailed(err)
			return false, f.ctx.Err() == nil
		}
		return true, true
	}
	select {
	case <-p.wake:
	case <-tick:
	case <-f.ctx.Done():
	}
	return false, f.ctx.Err() == nil
}

func (p *puller) requestFailed(err error) {
	if p.f.ctx.Err() == nil {
		p.f.cfg.Logger.Warn("pull request failed; retrying", "queue", p.queue, "err", err)
		sleepCtx(p.f.ctx, time.Second)
	}
}

// verdict is what becomes of a job delivered on a worker with several
// queues.
type verdict int

const (
	runNow  verdict = iota // in a slot reserved for it or free
	queued                 // waits among the turns for a slot
	putBack                // back to its queue now
	hold                   // back to its queue once this worker's requests are gone
)

// admitShared counts a delivered job against the oldest open request of its
// kind (listening or a batch) and notes the backlog it reports. A job a
// batch reserved a slot for runs in it; one that came to a listening request
// takes a free slot or waits for one.
func (p *puller) admitShared(msg *Msg, listened bool) verdict {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return putBack
	}
	slotted := false
	if req := p.oldest(listened); req != nil {
		req.left--
		req.got++
		req.seen = time.Now()
		slotted = !req.listen
		if req.left == 0 {
			p.drop(req.id)
		}
	}
	p.backlog = pendingOf(msg.m.Reply)
	busy := p.backlog > 0
	announce := p.f.slots.prio != nil && busy == p.idle
	p.idle = !busy
	if announce && busy {
		p.f.slots.setBusy(p.qi, true) // before the job takes a slot: lighter queues wait
	}
	v := runNow
	switch {
	case p.f.ctx.Err() != nil:
		if slotted {
			p.f.slots.release(1)
		}
		v = hold
	case !slotted:
		switch run, waits := p.f.slots.admitJob(msg, p.qi); {
		case waits:
			v = queued
		case !run:
			v = putBack
		}
	}
	if announce && !busy {
		// After the job has its slot or its turn: under strict priority a
		// lighter queue's waiting job must not take the slot ahead of it.
		p.f.slots.setBusy(p.qi, false)
	}
	p.mu.Unlock()
	p.signal() // more to ask for, or a listening request to renew
	return v
}

// oldest is the oldest open request of the kind given. Lock held.
func (p *puller) oldest(listen bool) *pullReq {
	for _, r := range p.reqs {
		if r.listen == listen {
			return r
		}
	}
	return nil
}

// listen handles what arrives for the listening requests of every queue,
// on a goroutine of its own: a job that came without a slot must not wait
// behind running jobs for a handler goroutine to look at it. Jobs that
// arrive as fetching stops go back once the listening inbox is drained.
func (f *Fetcher) listen() {
	defer f.listener.Done()
	var held []*Msg
	defer func() {
		for _, m := range held {
			f.cfg.PutBack(m)
		}
	}()
	for {
		select {
		case m := <-f.listened:
			f.onListened(m, &held)
		case <-f.listenEnd:
			for {
				select {
				case m := <-f.listened:
					f.onListened(m, &held)
				default:
					return
				}
			}
		}
	}
}

func (f *Fetcher) onListened(m *nats.Msg, held *[]*Msg) {
	if len(m.Data) == 0 {
		if status := m.Header.Get("Status"); status != "" {
			// The reply subject: <inbox>.<queue index>.<request id>.
			rest := strings.TrimPrefix(m.Subject, f.listenIn+".")
			if i := strings.IndexByte(rest, '.'); i > 0 {
				if qi, err := strconv.Atoi(rest[:i]); err == nil && qi >= 0 && qi < len(f.pullers) {
					f.pullers[qi].ended(m, status)
				}
			}
			return
		}
	}
	p := f.bySubj[m.Subject]
	if p == nil {
		return
	}
	msg := f.newMsg(m)
	switch p.admitShared(msg, true) {
	case runNow:
		f.slots.jobs.Add(1)
		f.runGranted([]*Msg{msg})
	case putBack:
		f.cfg.PutBack(msg)
	case hold:
		*held = append(*held, msg)
	}
}

// endListening ends the listening requests as puller.endRequests ends a
// queue's batches, and stops the goroutine that handles their jobs.
func (f *Fetcher) endListening() {
	if f.listenSub == nil {
		return
	}
	nc := f.cfg.Conn
	if nc.IsConnected() && f.listenSub.Drain() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), f.listenWait)
		_ = nc.FlushWithContext(ctx)
		cancel()
	} else {
		_ = f.listenSub.Unsubscribe()
	}
	close(f.listenEnd)
	f.listener.Wait()
}

// pendingOf is the count of jobs left behind this one on its consumer, the
// last number of a JetStream ack subject (see Msg.Metadata); 0 if the
// subject has none.
func pendingOf(reply string) int {
	n := strings.Count(reply, ".") + 1
	end := len(reply)
	if n == 12 { // the newer form ends with a random token
		end = strings.LastIndexByte(reply, '.')
	}
	if n != 9 && n != 11 && n != 12 {
		return 0
	}
	v, err := strconv.Atoi(reply[strings.LastIndexByte(reply[:end], '.')+1 : end])
	if err != nil {
		return 0
	}
	return v
}

// sharedHandler runs a delivery on a handler goroutine of a worker with
// several queues: the slot of a job that ended goes on to a job waiting for
// one, which runs on the same goroutine.
func (f *Fetcher) sharedHandler(handle func(jetstream.Msg)) func(*nats.Msg) {
	return func(m *nats.Msg) {
		job, ok := f.route(m) // a batch's job, in its slot
		if !ok {
			return
		}
		handle(job)
		for next := f.slots.handOff(); next != nil; next = f.slots.handOff() {
			handle(next)
		}
	}
}
