package naq

import (
	"context"

	"github.com/nats-io/nats.go"
)

// EnqueueHook runs as each job is about to be published, with the call's
// context and the job's message headers, which it may add to (a trace
// context, for instance: see package naqotel). The function it returns, if
// not nil, gets the publish's outcome. Headers named Nats-* are the server's
// and must be left alone.
type EnqueueHook func(ctx context.Context, j *Job, h nats.Header) (done func(error))

// WithEnqueueHook runs h for every job Enqueue, EnqueueJob and EnqueueMany
// publish. Several hooks run in the order given.
func WithEnqueueHook(h EnqueueHook) ClientOption {
	return func(c *clientConfig) error {
		if h != nil {
			c.hooks = append(c.hooks, h)
		}
		return nil
	}
}

// beforeEnqueue runs the hooks for each job, returning what gets the
// outcome (nil when no hook is set).
func (c *Client) beforeEnqueue(ctx context.Context, jobs []*Job, msgs []*nats.Msg) func(error) {
	if len(c.hooks) == 0 {
		return nil
	}
	var dones []func(error)
	for i, j := range jobs {
		for _, h := range c.hooks {
			if d := h(ctx, j, msgs[i].Header); d != nil {
				dones = append(dones, d)
			}
		}
	}
	return func(err error) {
		for _, d := range dones {
			d(err)
		}
	}
}
