package worker

// FailedJobHandler: records of jobs that failed for good, and of messages
// that were not jobs, in naq_failed_jobs. Not here: results and status
// (jobs.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// FailedJobHandler writes jobs that failed for good, and messages that were not
// valid jobs, to the naq_failed_jobs stream.
type FailedJobHandler struct {
	sh *Shared
	// maxMsgSize is naq_failed_jobs' own limit on a message (0: none), which
	// a stream another naq made may have.
	maxMsgSize int
}

// NewFailedJobHandler provisions naq_failed_jobs.
func NewFailedJobHandler(ctx context.Context, sh *Shared) (*FailedJobHandler, error) {
	s, err := layout.EnsureFailedStream(ctx, sh.JS, sh.layout())
	if err != nil {
		return nil, err
	}
	h := &FailedJobHandler{sh: sh}
	if info := s.CachedInfo(); info != nil && info.Config.MaxMsgSize > 0 {
		h.maxMsgSize = int(info.Config.MaxMsgSize)
	}
	return h, nil
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
// bytes and the decode error, and waits until it is stored. When the record
// with the whole message would be over the server's max payload, it keeps the
// start of the message (what a person reading the record needs) and says so
// in RawTruncated, RawSize and the error text. An error that wraps
// nats.ErrMaxPayload, or the stream's "message size exceeds maximum" error,
// means no record fits, however often it is tried.
func (h *FailedJobHandler) PublishMalformed(ctx context.Context, m jetstream.Msg, decodeErr error) error {
	text := decodeErr.Error()
	rec := &naq.FailedJob{
		Queue:     strings.TrimPrefix(m.Subject(), layout.JobsSubjectPrefix),
		Error:     deref(clip(&text)), // a decode error may quote a huge field
		ErrorKind: "naq:MalformedJob",
		Malformed: true,
		Subject:   m.Subject(),
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
	raw, decodeText := m.Data(), rec.Error
	msg, err := h.malformedMsg(rec, raw, h.recordLimit())
	if err != nil {
		return err
	}
	_, err = h.sh.JS.PublishMsg(ctx, msg)
	if tooLarge(err) && len(msg.Data) > fallbackRecord {
		// The stream's limit is lower than the one read at the start (it
		// was changed since): a smaller record may fit.
		rec.Error = cutText(decodeText, fallbackError)
		if msg, err = h.malformedMsg(rec, raw, fallbackRecord); err == nil {
			_, err = h.sh.JS.PublishMsg(ctx, msg)
		}
	}
	if err != nil {
		return fmt.Errorf("record malformed message %s #%d (%d bytes): %w", m.Subject(), rec.StreamSeq, len(raw), err)
	}
	if rec.RawTruncated {
		h.sh.Logger.Warn("malformed job's raw body cut to fit its failed-job record", "subject", m.Subject(),
			"stream_seq", rec.StreamSeq, "size", rec.RawSize, "kept", len(rec.Raw))
	}
	return nil
}

// recordHeaderRoom is what a failed record's message needs besides its body:
// the Nats-Msg-Id header and the header block's framing.
const recordHeaderRoom = 256

// fallbackRecord and fallbackError bound a malformed message's record, and
// the decode error in it, written again after the stream refused the first
// as too large.
const (
	fallbackRecord = 4 << 10
	fallbackError  = 1 << 10
)

// recordLimit is the largest record body naq_failed_jobs takes. It reads the
// max payload at each call: a reconnect may reach a server with another.
func (h *FailedJobHandler) recordLimit() int {
	limit := int(h.sh.Conn.MaxPayload())
	if h.maxMsgSize > 0 && h.maxMsgSize < limit {
		limit = h.maxMsgSize
	}
	return limit - recordHeaderRoom
}

// malformedMsg is the message recording rec (its Error the decode error) with
// raw, or with as much of the start of raw as keeps the body within limit
// bytes. Raw is written in base64 (raw bytes need not be text), which takes
// 4 bytes for every 3.
func (h *FailedJobHandler) malformedMsg(rec *naq.FailedJob, raw []byte, limit int) (*nats.Msg, error) {
	rec.Raw, rec.RawEncoding, rec.RawTruncated, rec.RawSize = raw, "base64", false, 0
	msg, err := h.msg(rec)
	if err != nil || len(msg.Data) <= limit {
		return msg, err
	}
	whole, decodeErr := len(raw), rec.Error
	// Measure the record without raw, with the longest note it can get.
	rec.Raw, rec.RawTruncated, rec.RawSize = nil, true, whole
	rec.Error = decodeErr + cutNote(whole, whole)
	empty, err := h.msg(rec)
	if err != nil {
		return nil, err
	}
	room := limit - len(empty.Data) - len(`,"raw":""`)
	keep := min(max(room, 0)/4*3, whole)
	// Cut text between characters, so it still reads as text.
	for i := 0; i < utf8.UTFMax-1 && keep > 0 && keep < whole && !utf8.RuneStart(raw[keep]); i++ {
		keep--
	}
	rec.Raw, rec.Error = raw[:keep], decodeErr+cutNote(whole, keep)
	return h.msg(rec)
}

// cutNote says, in a record's error, that its raw body is cut.
func cutNote(whole, kept int) string {
	return fmt.Sprintf(" (raw body cut from %d to %d bytes: the whole would not fit in a record within the server's max payload)", whole, kept)
}

// cutText cuts s to n bytes, saying so.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "… (cut)"
}

// tooLarge reports whether err says a message is too large for the server or
// the stream: writing it again cannot succeed.
func tooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
