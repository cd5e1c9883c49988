package layout

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ScheduleAt makes msg a server-side schedule that publishes its body and
// headers to target at t, to the nanosecond (the client library's option
// would cut t to whole seconds).
func ScheduleAt(msg *nats.Msg, t time.Time, target string) {
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header.Set(jetstream.ScheduleHeader, "@at "+t.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(jetstream.ScheduleTargetHeader, target)
}

// ScheduledAt reads the time of a schedule written by ScheduleAt; zero if h
// holds none.
func ScheduledAt(h nats.Header) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, strings.TrimPrefix(h.Get(jetstream.ScheduleHeader), "@at "))
	return t
}
