package naq

// Lifecycle events: what a job and a worker go through, published as core
// NATS messages on naq.jobs.events.<job_id>.<context>.<event_type> (the
// naming of Python naq's event branches, with JSON bodies). Nothing stores
// them unless the naq_events stream exists (EnsureEventsStream); following
// them live costs a subscription.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// EventType names a lifecycle event.
type EventType string

// Job events, in the order a job can meet them, then worker events.
const (
	EventEnqueued       EventType = "enqueued"        // stored on its queue (producer)
	EventStarted        EventType = "started"         // the handler began an attempt
	EventCompleted      EventType = "completed"       // the result is stored
	EventFailed         EventType = "failed"          // an attempt failed; retry_scheduled or dead_lettered follows
	EventRetryScheduled EventType = "retry_scheduled" // put back to run again after a delay
	EventSnoozed        EventType = "snoozed"         // put back on the handler's request, no attempt counted
	EventPutBack        EventType = "put_back"        // returned unrun or cut short by a stopping worker
	EventCancelled      EventType = "cancelled"       // ended by a cancellation, before or while it ran
	EventProgress       EventType = "progress"        // the handler reported progress (at most one a second per job)
	EventDeadLettered   EventType = "dead_lettered"   // failed for good, recorded in naq_failed_jobs
	EventMalformed      EventType = "malformed"       // a message that is not a job, moved to naq_failed_jobs
	EventWorkerStarted  EventType = "worker_started"
	EventWorkerStopped  EventType = "worker_stopped"
)

// EventTypes returns every event type naq publishes, in the order above.
func EventTypes() []EventType {
	return []EventType{EventEnqueued, EventStarted, EventCompleted, EventFailed, EventRetryScheduled,
		EventSnoozed, EventPutBack, EventCancelled, EventProgress, EventDeadLettered, EventMalformed,
		EventWorkerStarted, EventWorkerStopped}
}

// EventsSubjectPrefix starts every event's subject.
const EventsSubjectPrefix = "naq.jobs.events"

// EventsStream is the stream that keeps events when persistence is on.
const EventsStream = "naq_events"

// Event is one lifecycle event, the JSON body of its message.
type Event struct {
	Type       EventType `json:"event_type"`
	JobID      string    `json:"job_id"` // "worker:<id>" for worker events
	Time       time.Time `json:"timestamp"`
	WorkerID   string    `json:"worker_id,omitempty"`
	Queue      string    `json:"queue_name,omitempty"`
	Function   string    `json:"function,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	MaxRetries int       `json:"max_retries,omitempty"`
	// Duration of the attempt, for completed and failed.
	DurationMS float64 `json:"duration_ms,omitempty"`
	// Delay before the job comes back, for retry_scheduled, snoozed, put_back.
	DelayMS float64 `json:"delay_ms,omitempty"`
	// Progress of a progress event, from 0 to 1 (its words in Message).
	Progress  *float64 `json:"progress,omitempty"`
	ErrorKind string   `json:"error_type,omitempty"`
	Error     string   `json:"error_message,omitempty"`
	Message   string   `json:"message,omitempty"`
	// Queues of a worker event.
	Queues []string `json:"queue_names,omitempty"`
}

// EventSubject is the subject of an event: worker-side events carry the
// context worker.<worker_id>, producer-side ones queue.<queue>.
func EventSubject(e *Event) string { return string(e.appendSubject(make([]byte, 0, 128))) }

func (e *Event) appendSubject(b []byte) []byte {
	b = append(b, EventsSubjectPrefix...)
	b = append(b, '.')
	b = append(b, e.JobID...)
	if e.WorkerID != "" {
		b = append(b, ".worker."...)
		b = append(b, e.WorkerID...)
	} else {
		b = append(b, ".queue."...)
		b = append(b, e.Queue...)
	}
	b = append(b, '.')
	return append(b, e.Type...)
}

// PublishEvent sends e as a core NATS message: no one stores it unless the
// naq_events stream exists, and no one waits for it.
func PublishEvent(nc *nats.Conn, e *Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	// Subject and body are written into one pooled buffer, and the subject
	// is read in place: nats.go copies both into its write buffer before
	// Publish returns, so the buffer goes back at once, and no event costs
	// an allocation of its own.
	bp := eventBufs.Get().(*[]byte)
	b := e.appendSubject((*bp)[:0])
	n := len(b)
	b = e.appendJSON(b)
	err := nc.Publish(unsafe.String(&b[0], n), b[n:])
	*bp = b
	eventBufs.Put(bp)
	if err != nil {
		return fmt.Errorf("naq: publish event: %w", err)
	}
	return nil
}

// EventFilter selects events; zero fields select everything. Types must be
// ones EventTypes lists.
type EventFilter struct {
	JobID string
	Queue string
	Types []EventType
}

func (f EventFilter) subject() string {
	if f.JobID != "" {
		return EventsSubjectPrefix + "." + f.JobID + ".>"
	}
	return EventsSubjectPrefix + ".>"
}

func (f EventFilter) match(e *Event) bool {
	return (f.Queue == "" || e.Queue == f.Queue || slices.Contains(e.Queues, f.Queue)) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, e.Type))
}

// validate refuses a job id that no event can carry, and an event type naq
// never publishes: either would follow nothing, forever, without a word.
func (f EventFilter) validate() error {
	if f.JobID != "" {
		if err := layout.ValidateJobID(f.JobID); err != nil && !strings.HasPrefix(f.JobID, "worker:") {
			return fmt.Errorf("%w: %v", ErrInvalidJob, err)
		}
	}
	known := EventTypes()
	for _, t := range f.Types {
		if !slices.Contains(known, t) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			return fmt.Errorf("%w: unknown event type %q: want one of %s", ErrInvalidRequest, t, strings.Join(names, ", "))
		}
	}
	return nil
}

// EventStream is a live subscription to events (SubscribeEvents).
type EventStream struct {
	sub *nats.Subscription
	ch  chan *nats.Msg
	f   EventFilter
}

// SubscribeEvents subscribes to the events that match f. It returns once the
// server knows the subscription: every event published after that reaches
// it. A reader that falls more than 4096 events behind loses events (the
// connection reports a slow consumer); events are not stored for it. Close
// it when done.
func (c *Client) SubscribeEvents(ctx context.Context, f EventFilter) (*EventStream, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	s := &EventStream{ch: make(chan *nats.Msg, 4096), f: f}
	var err error
	if s.sub, err = c.nc.ChanSubscribe(f.subject(), s.ch); err != nil {
		return nil, fmt.Errorf("naq: follow events: %w", err)
	}
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok { // the flush needs a deadline
		fctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	}
	defer cancel()
	if err := c.nc.FlushWithContext(fctx); err != nil {
		_ = s.sub.Unsubscribe()
		return nil, fmt.Errorf("naq: follow events: %w", err)
	}
	return s, nil
}

// Next returns the next matching event, in the order they arrived; a body
// that is not an event is skipped. It returns ctx's error when ctx ends.
func (s *EventStream) Next(ctx context.Context) (Event, error) {
	for {
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case m := <-s.ch:
			var e Event
			if json.Unmarshal(m.Data, &e) != nil || !s.f.match(&e) {
				continue
			}
			return e, nil
		}
	}
}

// Close ends the subscription.
func (s *EventStream) Close() error { return s.sub.Unsubscribe() }

// FollowEvents calls fn for each event that matches f, as it is published,
// until ctx ends; then it returns nil. For earlier events, see EventHistory.
func (c *Client) FollowEvents(ctx context.Context, f EventFilter, fn func(Event)) error {
	s, err := c.SubscribeEvents(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() { _ = s.Close() }()
	for {
		e, err := s.Next(ctx)
		if err != nil {
			return nil
		}
		fn(e)
	}
}

// EnsureEventsStream turns persistence on: it creates (or updates) the
// naq_events stream, which keeps every event for maxAge within maxBytes,
// dropping the oldest first. Zero values take 24 h and 256 MiB.
func (c *Client) EnsureEventsStream(ctx context.Context, maxAge time.Duration, maxBytes int64) error {
	if maxAge < 0 || maxBytes < 0 {
		return errors.New("naq: events stream limits must not be negative")
	}
	if maxAge == 0 {
		maxAge = 24 * time.Hour
	}
	if maxBytes == 0 {
		maxBytes = 256 << 20
	}
	_, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: EventsStream, Subjects: []string{EventsSubjectPrefix + ".>"}, Storage: jetstream.FileStorage,
		MaxAge: maxAge, MaxBytes: maxBytes, Discard: jetstream.DiscardOld, Replicas: max(c.layout.Replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("naq: events stream: %w", err)
	}
	return nil
}

// ErrEventsNotStored is returned by EventHistory when events are not
// persisted (the naq_events stream does not exist).
var ErrEventsNotStored = errors.New("naq: events are not stored: the naq_events stream does not exist (see EnsureEventsStream, or 'naq events persist')")

// EventHistory returns the stored events of one job, oldest first.
func (c *Client) EventHistory(ctx context.Context, jobID string) ([]Event, error) {
	f := EventFilter{JobID: jobID}
	if jobID == "" {
		return nil, fmt.Errorf("%w: a job id is needed", ErrInvalidJob)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	stream, err := c.js.Stream(ctx, EventsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, ErrEventsNotStored
	}
	if err != nil {
		return nil, fmt.Errorf("naq: events stream: %w", err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{f.subject()}})
	if err != nil {
		return nil, fmt.Errorf("naq: read events: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("naq: read events: %w", err)
	}
	out := []Event{}
	for left := info.NumPending; left > 0; {
		batch, err := cons.FetchNoWait(int(min(left, 1000)))
		if err != nil {
			return nil, fmt.Errorf("naq: read events: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var e Event
			if json.Unmarshal(m.Data(), &e) == nil {
				out = append(out, e)
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("naq: read events: %w", err)
		}
		if n == 0 {
			break
		}
		left -= uint64(n)
	}
	return out, nil
}

// WithEvents makes the client publish an enqueued event for each job that
// Enqueue, EnqueueJob or EnqueueMany sends. The event goes out just before
// the job, on the same connection, so a follower sees it before any worker
// event of the job; an enqueue that then fails returns its error, and its
// enqueued event is followed by nothing.
func WithEvents() ClientOption {
	return func(c *clientConfig) error { c.events = true; return nil }
}

// enqueued publishes j's enqueued event; a failure to send it is logged, the
// job is stored all the same.
func (c *Client) enqueued(j *Job) {
	e := Event{Type: EventEnqueued, JobID: j.ID, Queue: j.Queue, Function: j.Name, MaxRetries: j.MaxRetries}
	c.publishEvent(&e)
}

// enqueuedAt publishes the enqueued event of a delayed job: the server puts
// it on its queue at runAt without any naq process taking part, so this
// event, sent when the job is stored, is the one it gets; delay_ms says when
// it falls due (0 for a time already past).
func (c *Client) enqueuedAt(j *Job, runAt time.Time) {
	e := Event{Type: EventEnqueued, JobID: j.ID, Queue: j.Queue, Function: j.Name, MaxRetries: j.MaxRetries,
		DelayMS: max(0, float64(time.Until(runAt))/float64(time.Millisecond)),
		Message: "delayed until " + runAt.Format(time.RFC3339Nano)}
	c.publishEvent(&e)
}

func (c *Client) publishEvent(e *Event) {
	if err := PublishEvent(c.nc, e); err != nil {
		c.log.Debug("could not publish an event", "job", e.JobID, "err", err)
	}
}
