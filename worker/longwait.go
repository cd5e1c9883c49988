package worker

// Put-backs of an hour or more, handed to the server as a schedule instead
// of a delayed nak. Not here: deciding to put a job back (settle.go).

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// LongWait is the shortest put-back (retry delay or snooze) that the worker
// hands to the server as a schedule instead of a delayed nak. A nak'd job
// stays in its consumer's unacknowledged set, where it counts against
// MaxAckPending for the whole wait, and its attempt count lives in its status
// record, which expires 24 hours after its last write: a job waiting longer
// would start its retries over, or be taken for poison.
const LongWait = time.Hour

// waitLong puts a job back for delay through a server-side schedule on
// naq.delayed.<id>, the subject of delayed jobs, and acknowledges the
// delivery once the schedule is stored. attempts is the number of attempts
// that count so far, naks the put-backs including this one. It reports
// whether the schedule is stored; on false the caller naks the job instead.
// The server copies the counts' headers to the job's message when the
// schedule fires.
func (r *run) waitLong(ctx context.Context, job *naq.Job, m jetstream.Msg, delay time.Duration, attempts, naks int) bool {
	md, err := m.Metadata()
	if err != nil {
		return false
	}
	msg := nats.NewMsg(layout.DelayedSubject(job.ID))
	msg.Data = m.Data()
	layout.ScheduleAt(msg, time.Now().Add(delay), m.Subject())
	msg.Header.Set(layout.AttemptsHeader, strconv.Itoa(attempts))
	msg.Header.Set(layout.NaksHeader, strconv.Itoa(naks))
	// The same put-back written twice (a retried publish) is one schedule.
	msg.Header.Set(jetstream.MsgIDHeader, job.ID+"-wait-"+strconv.FormatUint(md.Sequence.Stream, 10))
	pctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	if _, err := r.sh.JS.PublishMsg(pctx, msg, jetstream.WithExpectStream(layout.JobsStream)); err != nil {
		r.sh.Logger.Warn("could not schedule the job's return; putting it back in its consumer instead", "job", job.ID, "err", err)
		return false
	}
	if err := m.DoubleAck(pctx); err != nil {
		// The ack may have been applied with its answer lost: taking the
		// schedule back could lose the job, so it stands, and a delivery
		// that really stayed comes back after the ack wait as well.
		r.sh.Logger.Warn("job scheduled to return, but its ack failed; it may run early once", "job", job.ID, "err", err)
	}
	return true
}
