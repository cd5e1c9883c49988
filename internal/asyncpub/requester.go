package asyncpub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Sync-write tuning: a context without a deadline gets DefaultTimeout; a write
// that finds no stream is tried again noStreamWait apart: on a single server
// noStreamRetries times (the stream is missing), on a cluster until the
// caller's deadline (a stream leader election takes seconds).
const (
	DefaultTimeout  = 5 * time.Second
	noStreamRetries = 2
	noStreamWait    = 250 * time.Millisecond
)

// maxRequests bounds a Requester's writes in flight, so its reply channel
// (twice as large, for late answers) never overflows.
const maxRequests = 4096

// Requester writes messages one at a time per caller and waits for each
// acknowledgement, on one reply subscription of its own. Its replies arrive on
// a channel the connection's reader fills directly, and the caller waiting
// the longest reads them, handing the others theirs: a lone caller is woken
// straight by the reader, one goroutine hand-off per write where nats.go's
// request multiplexer takes two. The acknowledgement is checked in place,
// without encoding/json.
type Requester struct {
	nc      *nats.Conn
	prefix  string
	sub     *nats.Subscription
	replies chan *nats.Msg
	slots   chan struct{} // one per write in flight
	reader  chan struct{} // held by the caller reading replies

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]*pending
	closed  bool

	reconnects chan nats.Status
	resender   sync.WaitGroup
}

// pending is a write waiting for its answer.
type pending struct {
	answer chan *nats.Msg
	msg    *nats.Msg
}

// NewRequester subscribes to its reply subjects on nc.
func NewRequester(nc *nats.Conn) (*Requester, error) {
	q := &Requester{
		nc: nc, prefix: nc.NewInbox(), replies: make(chan *nats.Msg, 2*maxRequests),
		slots: make(chan struct{}, maxRequests), reader: make(chan struct{}, 1), waiting: map[uint64]*pending{},
	}
	sub, err := nc.ChanSubscribe(q.prefix+".*", q.replies)
	if err != nil {
		return nil, fmt.Errorf("requester: %w", err)
	}
	q.sub = sub
	q.reconnects = nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	q.resender.Add(1)
	go func() { // until Close, or the connection's
		defer q.resender.Done()
		for st := range q.reconnects {
			if st == nats.CLOSED {
				return
			}
			q.resend()
		}
	}()
	return q, nil
}

// resend writes again, after a reconnect, every write still waiting for its
// answer that carries a message id: the server may never have had it, or
// its answer was lost with the connection, and the id makes a second copy a
// no-op. A write without an id keeps waiting (until its deadline): sending it
// twice could store it twice.
func (q *Requester) resend() {
	q.mu.Lock()
	var again []*nats.Msg
	for _, p := range q.waiting {
		if p.msg.Header.Get(nats.MsgIdHdr) != "" {
			again = append(again, p.msg)
		}
	}
	q.mu.Unlock()
	for _, m := range again {
		_ = q.nc.PublishMsg(m)
	}
}

// Publish writes msg (setting its reply subject) and returns once the stream
// has stored it, with AckError's errors.
func (q *Requester) Publish(ctx context.Context, msg *nats.Msg) error {
	_, err := q.PublishDup(ctx, msg)
	return err
}

// PublishDup is Publish that also reports whether the stream found msg's
// Nats-Msg-Id already stored within its duplicate window (and stored nothing).
func (q *Requester) PublishDup(ctx context.Context, msg *nats.Msg) (duplicate bool, err error) {
	for attempt := 0; ; attempt++ {
		resp, err := q.request(ctx, msg)
		if err == nil {
			if err = AckError(resp); err == nil {
				return IsDuplicate(resp), nil
			}
		}
		if !errors.Is(err, ErrNoStream) || attempt >= noStreamRetries && q.nc.ConnectedClusterName() == "" {
			return false, err
		}
		select {
		case <-time.After(noStreamWait):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (q *Requester) request(ctx context.Context, msg *nats.Msg) (*nats.Msg, error) {
	if err := take(ctx, q.slots); err != nil {
		return nil, err
	}
	defer func() { <-q.slots }()
	var timeout <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(DefaultTimeout)
		defer t.Stop()
		timeout = t.C
	}
	mine := make(chan *nats.Msg, 1)
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	q.next++
	id := q.next
	msg.Reply = replySubject(q.prefix, id)
	q.waiting[id] = &pending{answer: mine, msg: msg}
	q.mu.Unlock()
	if err := q.nc.PublishMsg(msg); err != nil {
		q.forget(id)
		return nil, err
	}
	for {
		select {
		case m := <-mine:
			return answer(m)
		case q.reader <- struct{}{}:
			m, err := q.read(ctx, id, mine, timeout)
			<-q.reader
			return m, err
		case <-ctx.Done():
			q.forget(id)
			return nil, ctx.Err()
		case <-timeout:
			q.forget(id)
			return nil, nats.ErrTimeout
		}
	}
}

// read takes replies off the subscription until id's comes, handing every
// other to its caller.
func (q *Requester) read(ctx context.Context, id uint64, mine chan *nats.Msg, timeout <-chan time.Time) (*nats.Msg, error) {
	for {
		select {
		case m := <-q.replies:
			rid, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
			if err != nil {
				continue
			}
			q.mu.Lock()
			to := q.waiting[rid]
			delete(q.waiting, rid)
			q.mu.Unlock()
			if rid == id {
				return m, nil
			}
			if to != nil { // nil: a late answer to a caller gone, or a second answer to a resent write
				to.answer <- m
			}
		case m := <-mine: // handed over before this caller began reading
			return answer(m)
		case <-ctx.Done():
			q.forget(id)
			return nil, ctx.Err()
		case <-timeout:
			q.forget(id)
			return nil, nats.ErrTimeout
		}
	}
}

// answer is a handed-over reply: nil when the requester closed.
func answer(m *nats.Msg) (*nats.Msg, error) {
	if m == nil {
		return nil, ErrClosed
	}
	return m, nil
}

func (q *Requester) forget(id uint64) {
	q.mu.Lock()
	delete(q.waiting, id)
	q.mu.Unlock()
}

// Close stops the requester; writes awaiting their answer fail with
// ErrClosed (they may still have been stored).
func (q *Requester) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	waiting := q.waiting
	q.waiting = map[uint64]*pending{}
	q.mu.Unlock()
	_ = q.sub.Unsubscribe()
	q.nc.RemoveStatusListener(q.reconnects)
	q.resender.Wait()
	for _, p := range waiting {
		p.answer <- nil
	}
}
