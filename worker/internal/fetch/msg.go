package fetch

// A pulled message: the jetstream.Msg a handler gets, answered on its reply
// subject without nats.go's consumer. Not here: pulling it (pull.go).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is a job message received on the worker's own pull inbox. It
// speaks JetStream's ack protocol on the message's reply subject. Its
// metadata lives in it, and it may live in the worker's own record of the
// job (Config.NewMsg): a job costs one allocation for all three.
type Msg struct {
	m  *nats.Msg
	nc *nats.Conn
	md jetstream.MsgMetadata

	// Owner is the record the message lives in, set by Config.NewMsg.
	Owner any
}

var _ jetstream.Msg = (*Msg)(nil)

func (p *Msg) Data() []byte         { return p.m.Data }
func (p *Msg) Headers() nats.Header { return p.m.Header }
func (p *Msg) Subject() string      { return p.m.Subject }
func (p *Msg) Reply() string        { return p.m.Reply }

func (p *Msg) ack(body string) error {
	if p.m.Reply == "" {
		return errors.New("message cannot be acknowledged: no reply subject")
	}
	return p.nc.Publish(p.m.Reply, []byte(body))
}

func (p *Msg) Ack() error        { return p.ack("+ACK") }
func (p *Msg) Nak() error        { return p.ack("-NAK") }
func (p *Msg) InProgress() error { return p.ack("+WPI") }
func (p *Msg) Term() error       { return p.ack("+TERM") }

func (p *Msg) TermWithReason(reason string) error { return p.ack("+TERM " + reason) }

func (p *Msg) NakWithDelay(d time.Duration) error {
	if d <= 0 {
		return p.Nak()
	}
	return p.ack(`-NAK {"delay":` + strconv.FormatInt(int64(d), 10) + `}`)
}

func (p *Msg) DoubleAck(ctx context.Context) error {
	if p.m.Reply == "" {
		return errors.New("message cannot be acknowledged: no reply subject")
	}
	_, err := p.nc.RequestWithContext(ctx, p.m.Reply, []byte("+ACK"))
	return err
}

// Metadata parses the reply subject: $JS.ACK.<stream>.<consumer>.<delivered>.
// <stream seq>.<consumer seq>.<time>.<pending>, with a domain and an account
// hash after $JS.ACK in the newer, 12-token form. It splits without
// allocating: it runs for every job.
func (p *Msg) Metadata() (*jetstream.MsgMetadata, error) {
	var tok [13]string
	n, rest := 0, p.m.Reply
	for n < len(tok) {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			tok[n] = rest
			n++
			break
		}
		tok[n], rest = rest[:i], rest[i+1:]
		n++
	}
	var off int
	switch {
	case n == 9 && tok[0] == "$JS" && tok[1] == "ACK":
		off = 2
	case (n == 11 || n == 12) && tok[0] == "$JS" && tok[1] == "ACK":
		off = 4
	default:
		return nil, fmt.Errorf("not a JetStream message (reply %q)", p.m.Reply)
	}
	num := func(i int) uint64 { v, _ := strconv.ParseUint(tok[off+i], 10, 64); return v }
	p.md = jetstream.MsgMetadata{
		Stream: tok[off], Consumer: tok[off+1], NumDelivered: num(2),
		Sequence:   jetstream.SequencePair{Stream: num(3), Consumer: num(4)},
		Timestamp:  time.Unix(0, int64(num(5))),
		NumPending: num(6),
	}
	if off == 4 && tok[2] != "_" {
		p.md.Domain = tok[2]
	}
	return &p.md, nil
}
