package fetch

// The open pull requests of one queue: what each reserved, how the server
// ends them, and how the ones it has lost are given up.

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

type pullReq struct {
	id       uint64
	left     int // jobs asked for and not yet delivered
	got      int
	listen   bool // reserved no slots: left are not slots (listen.go)
	deadline time.Time
	// heartbeat: the server signals every so often that it still holds the
	// request (0: a short request, without); seen is its last sign of life.
	heartbeat time.Duration
	seen      time.Time
}

// requestHeartbeat is how often the server confirms it still holds a
// request of 2 s or more. A request whose consumer leader died is gone
// without a word; two missed heartbeats give it up, instead of its expiry.
const requestHeartbeat = time.Second

// slots is how many of the worker's slots the request still holds.
func (r *pullReq) slots() int {
	if r.listen {
		return 0
	}
	return r.left
}

// alive reports whether the request may still be held by the server at now.
func (r *pullReq) alive(now time.Time) bool {
	if now.After(r.deadline) {
		return false
	}
	return r.heartbeat == 0 || now.Sub(r.seen) <= 2*r.heartbeat
}

// drop forgets request id and returns it (nil if unknown). Lock held.
func (p *puller) drop(id uint64) *pullReq {
	for i, req := range p.reqs {
		if req.id == id {
			p.reqs = append(p.reqs[:i], p.reqs[i+1:]...)
			return req
		}
	}
	return nil
}

// ended handles a status that ends request id: 404/408 when it expired or
// the queue was empty, 409 when the server cut it short.
func (p *puller) ended(m *nats.Msg, status string) {
	id, _ := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if status == "100" { // heartbeat: the server still holds the request
		p.mu.Lock()
		for _, req := range p.reqs {
			if req.id == id {
				req.seen = time.Now()
			}
		}
		p.mu.Unlock()
		return
	}
	desc := m.Header.Get("Description")
	p.mu.Lock()
	req := p.drop(id)
	ok := req != nil
	if ok {
		if req.left > 0 {
			p.backlog = 0 // the queue ran dry before filling it
		}
		p.idle = req.got == 0
		if p.f.shared {
			p.idle = p.backlog == 0
		}
		if p.idle && p.f.slots.prio != nil {
			p.f.slots.setBusy(p.qi, false)
		}
		if status != "404" && status != "408" && req.got == 0 {
			p.trouble = strings.TrimSpace(status + " " + desc)
		}
	}
	p.mu.Unlock()
	if ok {
		p.f.slots.release(req.slots())
		p.signal()
	}
}

// expire gives up requests the server no longer holds (overdue, or silent
// past their heartbeats: a lost connection, a consumer leader gone),
// releasing their slots.
func (p *puller) expire() {
	now := time.Now()
	p.mu.Lock()
	freed := 0
	kept := p.reqs[:0]
	for _, req := range p.reqs {
		if req.alive(now) {
			kept = append(kept, req)
		} else {
			freed += req.slots()
		}
	}
	clear(p.reqs[len(kept):])
	p.reqs = kept
	p.mu.Unlock()
	p.f.slots.release(freed)
}

// forgetRequests gives up every open request after a reconnect, releasing
// their slots, and wakes the loop to ask again at once.
func (p *puller) forgetRequests() {
	p.expireAll()
	p.signal()
}

func (p *puller) expireAll() {
	p.mu.Lock()
	freed := 0
	for _, req := range p.reqs {
		freed += req.slots()
	}
	p.reqs = nil
	p.mu.Unlock()
	p.f.slots.release(freed)
}
