package fetch

// One queue's puller: its loop of pull requests sized to the free slots, and
// what it does with each message that arrives. Not here: the open requests'
// bookkeeping (requests.go).

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// maxOpenPulls bounds the pull requests one queue keeps open at once.
const maxOpenPulls = 4

// sharedPollWait bounds the requests that hold slots while other queues may
// want them: a batch for a backlog on a worker with several queues
// (listen.go), and every request of a single queue with priorities.
const sharedPollWait = 250 * time.Millisecond

// puller keeps pull requests open for one queue's durable consumer, each
// asking for exactly as many jobs as it holds free slots for, so the worker
// never holds more jobs than it can run. Requests are pipelined: a new one
// goes out as soon as enough slots free up, without waiting for the last to
// end. An idle queue keeps one request for one job open; on a worker with
// several queues it holds no slot (listen.go).
type puller struct {
	f     *Fetcher
	queue string
	qi    int    // the queue's index in Config.Queues
	subj  string // the consumer's next-message API subject
	inbox string
	sub   *nats.Subscription
	// resumed listens for the consumer's pause advisories: the server does
	// not wake waiting pull requests when a consumer is resumed, so a job
	// would wait for the open request to expire; a fresh request wakes it.
	resumed *nats.Subscription

	mu      sync.Mutex
	reqs    []*pullReq // open requests, oldest first
	next    uint64
	idle    bool
	closed  bool          // loop has finished: nothing more is handed over
	held    []*Msg        // delivered while stopping: put back once closed
	trouble string        // why the last request failed (503, 409), for a backoff
	kick    bool          // the consumer was resumed: send a fresh request
	wake    chan struct{} // a request ended or got its first job

	// With several queues (listen.go): the jobs the last delivery left
	// behind on the consumer, whether the first request went out, and
	// whether the queue only listens.
	backlog int
	probed  bool
	capped  bool

	provisioning atomic.Bool
}

func newPuller(f *Fetcher, queue string, qi int) (*puller, error) {
	p := &puller{
		f: f, queue: queue, qi: qi, idle: true, wake: make(chan struct{}, 1),
		capped: qi < len(f.cfg.Capped) && f.cfg.Capped[qi],
		subj:   "$JS.API.CONSUMER.MSG.NEXT." + layout.JobsStream + "." + layout.ConsumerName(queue),
		inbox:  f.cfg.Conn.NewInbox(),
	}
	if f.shared && f.slots.prio != nil && f.slots.prio.strict {
		// Strict priority counts every queue busy until it is found empty:
		// so does the puller, so that the first job it sees with nothing
		// behind it says so.
		p.idle = false
	}
	sub, err := f.cfg.Conn.ChanSubscribe(p.inbox+".*", f.work)
	if err != nil {
		return nil, err
	}
	p.sub = sub
	adv := "$JS.EVENT.ADVISORY.CONSUMER.PAUSE." + layout.JobsStream + "." + layout.ConsumerName(queue)
	// Without permission for advisories, resuming still works, only slower.
	p.resumed, _ = f.cfg.Conn.Subscribe(adv, func(m *nats.Msg) {
		var a struct {
			Paused bool `json:"paused"`
		}
		if json.Unmarshal(m.Data, &a) == nil && !a.Paused {
			p.mu.Lock()
			p.kick = true
			p.mu.Unlock()
			p.signal()
		}
	})
	return p, nil
}

func (p *puller) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// loop issues pull requests until fetching stops, then ends the open ones so
// no job is left delivered to nobody.
func (p *puller) loop() {
	f := p.f
	expires := min(f.cfg.PollWait, 5*time.Second)
	if f.cfg.Concurrency < len(f.cfg.Queues) || f.slots.prio != nil {
		// With priorities too: a queue that ran dry gives its slots back soon.
		expires = min(expires, sharedPollWait)
	}
	tick := time.NewTicker(requestHeartbeat / 2) // looks for requests the server has lost
	defer tick.Stop()
	backoff := time.Duration(0)
	for f.ctx.Err() == nil {
		p.expire()
		p.mu.Lock()
		idle, open, trouble, kick := p.idle, len(p.reqs), p.trouble, p.kick
		p.trouble, p.kick = "", false
		p.mu.Unlock()
		if trouble != "" {
			// The server refused a request (no consumer, JetStream
			// unavailable or electing a leader, too many waiting pulls):
			// back off, and make sure the consumer exists, on the side: an
			// API call during an election can take seconds, and the pulls
			// resume once a leader answers them. A 503 (no one answered)
			// costs the server nothing, so it is asked again within a second.
			limit := 5 * time.Second
			if strings.HasPrefix(trouble, "503") {
				limit = time.Second
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), limit)
			f.cfg.Logger.Warn("pull request refused; backing off", "queue", p.queue, "status", trouble, "wait", backoff)
			if strings.HasPrefix(trouble, "503") || strings.Contains(trouble, "Consumer Deleted") {
				p.reprovision()
			}
			sleepCtx(f.ctx, backoff)
			continue
		}
		if f.shared {
			sent, ok := p.pullShared(kick, tick.C)
			if !ok {
				break
			}
			if sent {
				backoff = 0
			}
			continue
		}
		if open >= maxOpenPulls || (idle && open > 0 && !kick) {
			select {
			case <-p.wake:
			case <-tick.C:
			case <-f.ctx.Done():
			}
			continue
		}
		if !p.gateOpen() {
			continue
		}
		want := 1
		if !idle {
			want = max(1, f.cfg.Concurrency/4)
		}
		n, ok := f.slots.acquire(f.ctx.Done(), want, p.qi)
		if !ok {
			break
		}
		if idle && n > 1 {
			f.slots.release(n - 1)
			n = 1
		}
		backoff = 0
		if err := p.request(n, expires, false, false); err != nil {
			f.slots.release(n)
			if f.ctx.Err() == nil {
				f.cfg.Logger.Warn("pull request failed; retrying", "queue", p.queue, "err", err)
				sleepCtx(f.ctx, time.Second)
			}
		}
	}
	if f.shared {
		expires = max(expires, f.listenWait)
	}
	p.endRequests(expires)
	p.mu.Lock()
	p.closed = true
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, msg := range held {
		p.f.cfg.PutBack(msg)
	}
	_ = p.sub.Unsubscribe()
	if p.resumed != nil {
		_ = p.resumed.Unsubscribe()
	}
	p.expireAll()
}

// endRequests makes sure no job is delivered to nobody once fetching stops.
// The server hands a pull request nothing once no one listens on its reply
// subject, so the inbox is drained: the server drops the interest, and the
// round trip after it brings in what it sent before, which onMsg puts back.
// Without that round trip it waits for the open requests to end. (A server
// with gateways or leaf nodes may still deliver to a request younger than
// 2 s with no listener; such a job returns after the ack wait.)
func (p *puller) endRequests(expires time.Duration) {
	nc := p.f.cfg.Conn
	if !nc.IsConnected() {
		// No server to hear the unsubscribe or deliver more: the requests
		// died with the connection.
		_ = p.sub.Unsubscribe()
		return
	}
	if p.sub.Drain() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), expires)
		err := nc.FlushWithContext(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	deadline := time.Now().Add(expires + time.Second)
	for time.Now().Before(deadline) && nc.IsConnected() { // no connection: nothing more arrives
		p.mu.Lock()
		open := len(p.reqs)
		p.mu.Unlock()
		if open == 0 {
			return
		}
		select {
		case <-p.wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// request asks for n jobs within expires. A listening request holds no
// slot for its job (listen.go); noWait ends it at once on an empty queue.
func (p *puller) request(n int, expires time.Duration, listen, noWait bool) error {
	p.mu.Lock()
	p.next++
	id := p.next
	now := time.Now()
	req := &pullReq{id: id, left: n, deadline: now.Add(expires + 2*time.Second), seen: now, listen: listen}
	if expires >= 2*requestHeartbeat {
		req.heartbeat = requestHeartbeat
	}
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	body, _ := json.Marshal(struct {
		Batch     int   `json:"batch"`
		Expires   int64 `json:"expires,omitempty"`
		Heartbeat int64 `json:"idle_heartbeat,omitempty"`
		NoWait    bool  `json:"no_wait,omitempty"`
	}{n, int64(expires), int64(req.heartbeat), noWait})
	reply := p.inbox
	if listen {
		reply = p.f.listenIn + "." + strconv.Itoa(p.qi)
	}
	if err := p.f.cfg.Conn.PublishRequest(p.subj, reply+"."+strconv.FormatUint(id, 10), body); err != nil {
		p.mu.Lock()
		p.drop(id)
		p.mu.Unlock()
		return err
	}
	return nil
}

// onMsg accounts for a delivered job (its slot is reserved) or a status that
// ends a request (its unfilled slots are released). A job arrives on the
// stream's subject, not the request's, so it is counted against the oldest
// open request: the server fills a client's waiting requests in order.
func (p *puller) onMsg(m *nats.Msg) (jetstream.Msg, bool) {
	if len(m.Data) == 0 { // a job has a body; a status has none
		if status := m.Header.Get("Status"); status != "" {
			p.ended(m, status)
			return nil, false
		}
	}
	msg := p.f.newMsg(m)
	if p.f.shared {
		switch p.admitShared(msg, false) {
		case runNow:
			return msg, true
		case putBack:
			p.f.cfg.PutBack(msg)
		case hold:
			p.mu.Lock()
			if p.closed {
				defer p.f.cfg.PutBack(msg)
			} else {
				p.held = append(p.held, msg)
			}
			p.mu.Unlock()
		}
		return nil, false
	}
	run, back := p.admit(msg)
	if back {
		p.f.cfg.PutBack(msg)
	}
	return msg, run
}

// admit counts a delivered job against its request and reports whether it
// runs here (in the slot reserved for it) or goes back to the queue now.
func (p *puller) admit(msg *Msg) (run, back bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false, true
	}
	ok := len(p.reqs) > 0
	wasIdle := p.idle
	wake := p.idle // a quiet queue came alive: ask for more
	if ok {
		req := p.reqs[0]
		req.left--
		req.got++
		req.seen = time.Now()
		if req.left == 0 {
			p.reqs = p.reqs[1:]
			wake = true // room for another request
		}
		p.idle = false
	}
	if wasIdle && !p.idle && p.f.slots.prio != nil {
		p.f.slots.setBusy(p.qi, true)
	}
	if !ok && p.f.ctx.Err() == nil && p.f.slots.tryTake() {
		// A request given up (expired, or forgotten at a reconnect) that the
		// server still filled: run the job in a free slot rather than put it
		// back.
		ok = true
		p.idle = false
	}
	if !ok || p.f.ctx.Err() != nil {
		// No slot for it, or the worker is stopping: back to the queue.
		if ok {
			p.f.slots.release(1)
			p.signal()
		}
		if p.f.ctx.Err() != nil {
			// Not yet, though: this worker's requests may still be open, and
			// the server would hand the job straight back to them, each time
			// counting a delivery. The loop puts it back once they are gone.
			p.held = append(p.held, msg)
			return false, false
		}
		return false, true
	}
	if wake {
		p.signal()
	}
	return true, false
}

// reprovision makes sure the queue's consumer exists, on the side, once at a
// time.
func (p *puller) reprovision() {
	if !p.provisioning.CompareAndSwap(false, true) {
		return
	}
	p.f.side.Add(1)
	go func() {
		defer p.f.side.Done()
		defer p.provisioning.Store(false)
		p.f.cfg.Reprovision(p.f.ctx, p.queue)
	}()
}
