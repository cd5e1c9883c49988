package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// ResultSubject is the KV subject of job id's result.
func ResultSubject(id string) string { return "$KV." + layout.ResultsBucket + "." + id }

// StatusSubject is the KV subject of job id's status record.
func StatusSubject(id string) string { return "$KV." + layout.StatusBucket + "." + id }

// TTL is how long a job whose result TTL is d keeps its result: the
// default for none, whole seconds (as the server takes them), at least one.
func TTL(d time.Duration) time.Duration {
	if d <= 0 {
		d = layout.DefaultResultTTL
	}
	return max(d.Round(time.Second), time.Second)
}

// SetResultMsg makes msg the write of job id's encoded result; a ttl other
// than zero goes in a Nats-TTL header.
func SetResultMsg(msg *nats.Msg, id string, data []byte, ttl time.Duration) {
	*msg = nats.Msg{Subject: ResultSubject(id), Data: data}
	if ttl != 0 {
		msg.Header = nats.Header{jetstream.MsgTTLHeader: []string{ttl.String()}}
	}
}

// StatusMsg is the write of st as its job's status record.
func StatusMsg(st *Status) (*nats.Msg, error) {
	data, err := EncodeStatus(st)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: StatusSubject(st.JobID), Data: data}, nil
}

// PendingMsg is the write of a just-enqueued job's status record st, only
// where there is no record yet: enqueueing a job again must not reset the
// record of a job that is already running or retrying.
func PendingMsg(st *Status) *nats.Msg {
	msg, _ := StatusMsg(st) // a Status always encodes
	msg.Header = nats.Header{jetstream.ExpectedLastSubjSeqHeader: []string{"0"}}
	return msg
}

// Store reads and writes job records in naq_results and naq_job_status.
type Store struct {
	Results jetstream.KeyValue
	Status  jetstream.KeyValue
}

// Result reads job id's result; nil when there is none. One naq-go cannot
// read wraps ErrForeign.
func (s Store) Result(ctx context.Context, id string) (*Result, error) {
	e, err := s.Results.Get(ctx, id)
	if err != nil {
		if layout.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("naq: result of job %s: %w", id, err)
	}
	return DecodeResult(id, e.Value())
}

// StatusRecord reads job id's status record; nil when there is none.
func (s Store) StatusRecord(ctx context.Context, id string) (*Status, error) {
	e, err := s.Status.Get(ctx, id)
	if err != nil {
		if layout.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("naq: status of job %s: %w", id, err)
	}
	return DecodeStatus(id, e.Value(), e.Created())
}

// PutStatus writes st over its job's record.
func (s Store) PutStatus(ctx context.Context, st *Status) error {
	data, err := EncodeStatus(st)
	if err != nil {
		return err
	}
	_, err = s.Status.Put(ctx, st.JobID, data)
	return err
}

// Cancel writes the records of job id cancelled at now: its result unless it
// has one, and its status record.
func (s Store) Cancel(ctx context.Context, id string, now time.Time) error {
	res, st := Cancelled(id, now)
	if _, err := s.Results.Create(ctx, id, EncodeResult(res)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	return s.PutStatus(ctx, st)
}

// Clear removes both of job id's records, so it starts afresh.
func (s Store) Clear(ctx context.Context, id string) error {
	for _, kv := range []jetstream.KeyValue{s.Results, s.Status} {
		if err := kv.Purge(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
