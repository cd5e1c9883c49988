package bench

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// enqueueTurn is how many acknowledged publishes one side makes before the
// next side takes its turn.
const enqueueTurn = 500

// enqueueTurns runs the acked-enqueue scenario and its floor together: a bare
// synchronous publish (raw), the same with a Nats-Msg-Id (floor) and
// Client.Enqueue (naq) take turns of enqueueTurn messages until each has sent
// N, and each side's time is the sum of its turns. A one-at-a-time publish is
// bound by round-trip latency, which drifts on a shared machine by tens of
// percent within seconds: side by side in short turns, all three meet the
// same machine, so their ratio holds still where back-to-back runs of N did
// not.
func (e *env) enqueueTurns(ctx context.Context) (raw, floor, naqRun run, err error) {
	n := e.cfg.Jobs
	sides := e.enqueueSides(ctx)
	var runs [3]run
	for start, turn := 0, 0; start < n; start, turn = start+enqueueTurn, turn+1 {
		end := min(n, start+enqueueTurn)
		for k := range sides {
			side := (k + turn) % len(sides) // each side goes first in turn
			t := startTimer()
			for i := start; i < end; i++ {
				if err := sides[side](i); err != nil {
					return run{}, run{}, run{}, err
				}
			}
			r := t.stop(end - start)
			runs[side].n += r.n
			runs[side].d += r.d
			runs[side].cpu += r.cpu
		}
	}
	if err := e.expectAndPurge(ctx, e.raw, 2*n); err != nil {
		return run{}, run{}, run{}, err
	}
	return runs[0], runs[1], runs[2], e.expectAndPurge(ctx, e.jobs, n)
}

// enqueueSides returns the acked enqueue's three sides, each sending the i-th
// message: a bare synchronous publish, the same with a Nats-Msg-Id (floor),
// and Client.Enqueue.
func (e *env) enqueueSides(ctx context.Context) [3]func(i int) error {
	e.floorRuns++ // ids stay unique across rounds, inside the dedup window
	prefix := "floor-" + strconv.Itoa(e.floorRuns) + "-"
	return [3]func(i int) error{
		func(int) error { _, err := e.js.Publish(ctx, rawSubject, e.payload); return err },
		func(i int) error {
			_, err := e.js.Publish(ctx, rawSubject, e.payload, jetstream.WithMsgID(prefix+strconv.Itoa(i)))
			return err
		},
		func(int) error { _, err := e.client.Enqueue(ctx, jobName, sampleArgs); return err },
	}
}

// enqueueSide times N sends of one of enqueueSides.
func (e *env) enqueueSide(ctx context.Context, side int) (run, error) {
	send := e.enqueueSides(ctx)[side]
	t := startTimer()
	for i := range e.cfg.Jobs {
		if err := send(i); err != nil {
			return run{}, err
		}
	}
	return t.stop(e.cfg.Jobs), nil
}
