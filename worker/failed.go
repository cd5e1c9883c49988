package worker

// FailedJobHandler: records of jobs that failed for good, and of messages
// that were not jobs, in naq_failed_jobs. Not here: results and status
// (jobs.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// FailedJobHandler writes jobs that failed for good, and messages that were not
// valid jobs, to the naq_failed_jobs stream.
type FailedJobHandler struct {
	sh *Shared
}

// NewFailedJobHandler provisions naq_failed_jobs.
func NewFailedJobHandler(ctx context.Context, sh *Shared) (*FailedJobHandler, error) {
	if _, err := layout.EnsureFailedStream(ctx, sh.JS, sh.layout()); err != nil {
		return nil, err
	}
	return &FailedJobHandler{sh: sh}, nil
}

// Record writes rec to naq.failed.<queue> and waits until it is stored. The
// message id is derived from the original message's stream sequence, so a
// retried write after a crash does not record the failure twice.
func (h *FailedJobHandler) Record(ctx context.Context, rec *naq.FailedJob) error {
	msg, err := h.msg(rec)
	if err != nil {
		return err
	}
	if _, err := h.sh.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("record failed job %s: %w", rec.JobID, err)
	}
	return nil
}

// msg is the message that records rec on naq.failed.<queue>.
func (h *FailedJobHandler) msg(rec *naq.FailedJob) (*nats.Msg, error) {
	if rec.FailedAt.IsZero() {
		rec.FailedAt = time.Now().UTC()
	}
	if rec.WorkerID == "" {
		rec.WorkerID = h.sh.Identity.ID
	}
	queue := rec.Queue
	if layout.ValidateQueue(queue) != nil {
		queue = "unknown"
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode failed job %s: %w", rec.JobID, err)
	}
	msg := &nats.Msg{Subject: layout.FailedSubject(queue), Data: data, Header: nats.Header{}}
	if rec.StreamSeq > 0 {
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("naq-failed-%d", rec.StreamSeq))
	}
	return msg, nil
}

// PublishMalformed records a message that is not a valid naq job, with its raw
// bytes and the decode error, and waits until it is stored.
func (h *FailedJobHandler) PublishMalformed(ctx context.Context, m jetstream.Msg, decodeErr error) error {
	rec := &naq.FailedJob{
		Queue:       strings.TrimPrefix(m.Subject(), layout.JobsSubjectPrefix),
		Error:       decodeErr.Error(),
		ErrorKind:   "naq:MalformedJob",
		Malformed:   true,
		Raw:         m.Data(),
		RawEncoding: "base64",
		Subject:     m.Subject(),
	}
	if md, err := m.Metadata(); err == nil {
		rec.StreamSeq = md.Sequence.Stream
		rec.Attempts = int(md.NumDelivered)
	}
	// Keep the id if the bytes carry one, so the record can be found.
	var probe struct {
		JobID string `json:"job_id"`
	}
	if json.Unmarshal(m.Data(), &probe) == nil && layout.ValidateJobID(probe.JobID) == nil {
		rec.JobID = probe.JobID
	}
	return h.Record(ctx, rec)
}
