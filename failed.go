package naq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// ErrNotRequeueable: a failed-job record without an original job (a malformed
// message, or a record written by Python naq).
var ErrNotRequeueable = errors.New("naq: failed record cannot be requeued")

// FailedJob is a record in the naq_failed_jobs stream: a job that failed for
// good, with the whole original job so it can be requeued, or a message that
// was not a valid job, with its raw bytes and the decode error.
type FailedJob struct {
	JobID      string    `json:"job_id,omitempty"`
	Name       string    `json:"function,omitempty"`
	Queue      string    `json:"queue_name"`
	Error      string    `json:"error"`
	ErrorKind  string    `json:"error_kind,omitempty"`
	Traceback  string    `json:"traceback,omitempty"`
	Attempts   int       `json:"attempts"`
	MaxRetries int       `json:"max_retries"`
	EnqueuedAt time.Time `json:"enqueued_at,omitzero"`
	FailedAt   time.Time `json:"failed_at"`
	WorkerID   string    `json:"worker_id,omitempty"`
	// Job is the original wire job, byte for byte.
	Job json.RawMessage `json:"job,omitempty"`
	// Malformed marks a message that was not a valid naq job; Raw holds its
	// bytes and Error the decode error.
	Malformed bool   `json:"malformed,omitempty"`
	Raw       []byte `json:"raw,omitempty"`
	// RawEncoding says how Raw is written in JSON: "base64", since raw bytes
	// need not be text.
	RawEncoding string `json:"raw_encoding,omitempty"`
	// RawTruncated says Raw holds only the start of the message, RawSize
	// bytes long: the whole of it would not fit in a record (the server's max
	// payload). Error then says so too.
	RawTruncated bool `json:"raw_truncated,omitempty"`
	RawSize      int  `json:"raw_size,omitempty"`
	// Subject and StreamSeq locate the original message in naq_jobs.
	Subject   string `json:"subject,omitempty"`
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	// ArgsRepr and KwargsRepr are the Python repr() of the arguments, all a
	// record written by Python naq keeps of them.
	ArgsRepr   string `json:"args_repr,omitempty"`
	KwargsRepr string `json:"kwargs_repr,omitempty"`
	// Foreign marks a record written by Python naq: it holds no job to
	// requeue, and its failure time is when the stream stored it.
	Foreign bool `json:"foreign,omitempty"`

	// Seq is the record's sequence in naq_failed_jobs (set when read back).
	Seq uint64 `json:"-"`
}

// failedStream provisions naq_failed_jobs the first time the client needs it.
func (c *Client) failedStream(ctx context.Context) (jetstream.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		s, err := layout.EnsureFailedStream(ctx, c.js, c.layout)
		if err != nil {
			return nil, err
		}
		c.failed = s
	}
	return c.failed, nil
}

func failedFilter(queue string) (string, error) {
	if queue == "" {
		return layout.FailedSubjectPrefix + "*", nil
	}
	if queue != "unknown" {
		if err := layout.ValidateQueue(queue); err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidQueue, err)
		}
	}
	return layout.FailedSubject(queue), nil
}

// ListFailed returns failed-job records, oldest first, of one queue ("" for
// all), at most limit of them (0: all; a negative limit is an
// ErrInvalidRequest). It reads them by sequence: nothing is consumed.
// Records written by Python naq are read too (JSON, or pickled plain data);
// records it cannot read are skipped, and counted in one log line.
func (c *Client) ListFailed(ctx context.Context, queue string, limit int) ([]FailedJob, error) {
	if limit < 0 {
		return nil, fmt.Errorf("%w: limit %d must not be negative (0: all records)", ErrInvalidRequest, limit)
	}
	filter, err := failedFilter(queue)
	if err != nil {
		return nil, err
	}
	s, err := c.failedStream(ctx)
	if err != nil {
		return nil, err
	}
	out := []FailedJob{}
	skipped := 0
	defer func() { logSkipped(c.log, skipped, "failed-job record", "failed-job records") }()
	for seq := uint64(1); limit <= 0 || len(out) < limit; seq++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if layout.IsNotFound(err) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("naq: list failed jobs: %w", err)
		}
		seq = m.Sequence
		rec, err := decodeFailed(m)
		if errors.Is(err, ErrForeignRecord) {
			skipped++
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *rec)
	}
	return out, nil
}

// FailedJob returns the failed-job record at seq in naq_failed_jobs; a
// missing one (sequences start at 1) is an ErrJobNotFound.
func (c *Client) FailedJob(ctx context.Context, seq uint64) (*FailedJob, error) {
	if seq == 0 {
		return nil, noFailedRecord(seq)
	}
	s, err := c.failedStream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		if layout.IsNotFound(err) {
			return nil, noFailedRecord(seq)
		}
		return nil, fmt.Errorf("naq: failed-job record %d: %w", seq, err)
	}
	return decodeFailed(m)
}

// noFailedRecord is the error for a record sequence that holds none. The
// server answers sequence 0 with a bad request; it is as missing as any.
func noFailedRecord(seq uint64) error {
	if seq == 0 {
		return fmt.Errorf("%w: no failed-job record 0 (record sequences start at 1)", ErrJobNotFound)
	}
	return fmt.Errorf("%w: no failed-job record %d", ErrJobNotFound, seq)
}

func decodeFailed(m *jetstream.RawStreamMsg) (*FailedJob, error) {
	rec, err := decodeFailedData(m.Data, m.Time)
	if err != nil {
		return nil, fmt.Errorf("failed-job record %d: %w", m.Sequence, err)
	}
	rec.Seq = m.Sequence
	if rec.Queue == "" {
		rec.Queue = strings.TrimPrefix(m.Subject, layout.FailedSubjectPrefix)
	}
	return rec, nil
}

// RequeueFailed enqueues the job of failed record seq again, with fresh
// attempts (its old result and status are removed), then deletes the record.
func (c *Client) RequeueFailed(ctx context.Context, seq uint64) (*Job, error) {
	rec, err := c.FailedJob(ctx, seq)
	if err != nil {
		return nil, err
	}
	if rec.Foreign {
		return nil, fmt.Errorf("%w: record %d was written by Python naq, which keeps only the function's name (%s) and the arguments' repr; enqueue the job anew", ErrNotRequeueable, seq, rec.Name)
	}
	if rec.Malformed || len(rec.Job) == 0 {
		return nil, fmt.Errorf("%w: record %d holds no valid job (%s); fix the payload and enqueue it anew", ErrNotRequeueable, seq, rec.Error)
	}
	// A job published without queue_name belongs to the queue it was
	// published to, which the record names.
	queue := DefaultQueue
	if layout.ValidateQueue(rec.Queue) == nil {
		queue = rec.Queue
	}
	job, err := decodeJob(rec.Job, queue)
	if err != nil {
		return nil, fmt.Errorf("%w: record %d: %v", ErrNotRequeueable, seq, err)
	}
	job.EnqueuedAt = time.Now().UTC()
	msg, err := c.jobMsg(job)
	if err != nil {
		return nil, err
	}
	// A fresh message id: the job id alone may still be inside the dedup window.
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s-requeue-%d", job.ID, seq))
	if err := c.records.Clear(ctx, job.ID); err != nil {
		return nil, fmt.Errorf("naq: requeue job %s: clear old records: %w", job.ID, err)
	}
	if _, err := c.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(layout.JobsStream)); err != nil {
		return nil, fmt.Errorf("naq: requeue job %s: %w", job.ID, err)
	}
	if err := c.DeleteFailed(ctx, seq); err != nil && !errors.Is(err, ErrJobNotFound) {
		return nil, err
	}
	return job, nil
}

// RequeueAllFailed requeues every requeueable failed job of queue ("" for
// all) and returns how many it requeued. progress, if not nil, is called after
// each record. Records that cannot be requeued are left in place and reported
// in the joined error.
func (c *Client) RequeueAllFailed(ctx context.Context, queue string, progress func(done, total int)) (int, error) {
	return c.RequeueFailedMatching(ctx, FailedFilter{Queue: queue}, progress)
}

// DeleteFailed removes failed record seq; a missing one is an
// ErrJobNotFound.
func (c *Client) DeleteFailed(ctx context.Context, seq uint64) error {
	if seq == 0 {
		return noFailedRecord(seq)
	}
	s, err := c.failedStream(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		// The delete API reports a missing message only in its text.
		if layout.IsNotFound(err) || strings.Contains(err.Error(), "err_code=10057") {
			return noFailedRecord(seq)
		}
		return fmt.Errorf("naq: delete failed-job record %d: %w", seq, err)
	}
	return nil
}

// PurgeFailed removes every failed record of queue ("" for all) and returns
// how many it removed.
func (c *Client) PurgeFailed(ctx context.Context, queue string) (uint64, error) {
	filter, err := failedFilter(queue)
	if err != nil {
		return 0, err
	}
	if _, err := c.failedStream(ctx); err != nil {
		return 0, err
	}
	return layout.PurgeSubject(ctx, c.nc, layout.FailedStream, filter)
}
