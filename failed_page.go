package naq

// Failed-job records page by page, filtered, and requeued or deleted by
// filter. A page reads records by sequence and stops after a bounded number
// of lookups, so a filter that matches little never turns into a full scan.

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// FailedFilter selects failed-job records; an empty field matches all.
type FailedFilter struct {
	Queue     string // queue the job failed on ("unknown": malformed messages without one)
	Function  string // the job's function name
	ErrorKind string // the failure's kind (ErrorKind); "malformed" matches every malformed message
}

// Match reports whether r passes the filter.
func (f FailedFilter) Match(r *FailedJob) bool {
	if f.Queue != "" && r.Queue != f.Queue {
		return false
	}
	if f.Function != "" && r.Name != f.Function {
		return false
	}
	if f.ErrorKind != "" && f.ErrorKind != r.ErrorKind && (f.ErrorKind != "malformed" || !r.Malformed) {
		return false
	}
	return true
}

// FailedQuery is one page of failed-job records.
type FailedQuery struct {
	FailedFilter
	// From is the record sequence the page starts at (0 or 1: the oldest).
	From uint64
	// Limit bounds the records returned (default 50, at most MaxPageSize).
	Limit int
	// MaxScan bounds the records read for one page when Function or
	// ErrorKind filter (default 20 times Limit): the page may then hold
	// fewer than Limit records and a Next to go on from.
	MaxScan int
}

// FailedRecords is a page of failed-job records, oldest first.
type FailedRecords struct {
	Records []FailedJob
	// Next is the sequence the following page starts from; 0 at the end.
	Next uint64
	// Scanned counts the records read; Unreadable the ones skipped as not
	// naq records.
	Scanned, Unreadable int
}

// FailedPage returns a page of the failed-job records that match q's filter.
// The queue filter is a subject filter, so the server skips other queues'
// records; function and error kind are checked on each record read.
func (c *Client) FailedPage(ctx context.Context, q FailedQuery) (FailedRecords, error) {
	var page FailedRecords
	subj, err := failedFilter(q.Queue)
	if err != nil {
		return page, err
	}
	s, err := c.failedStream(ctx)
	if err != nil {
		return page, err
	}
	limit := pageLimit(q.Limit)
	maxScan := q.MaxScan
	if maxScan <= 0 {
		maxScan = 20 * limit
	}
	seq := max(q.From, 1)
	for len(page.Records) < limit {
		if page.Scanned >= maxScan {
			page.Next = seq
			return page, nil
		}
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if layout.IsNotFound(err) {
			return page, nil
		}
		if err != nil {
			return page, fmt.Errorf("naq: failed jobs from %d: %w", seq, err)
		}
		seq = m.Sequence + 1
		page.Scanned++
		rec, err := decodeFailed(m)
		if errors.Is(err, ErrForeignRecord) {
			page.Unreadable++
			continue
		}
		if err != nil {
			return page, err
		}
		if q.Match(rec) {
			page.Records = append(page.Records, *rec)
		}
	}
	page.Next = seq
	return page, nil
}

// RequeueFailedMatching requeues every failed job that matches f and returns
// how many it requeued. It first collects the matching record sequences (so
// a job that fails again while this runs is not requeued twice), then
// requeues each; progress, if not nil, is called after each. Records that
// cannot be requeued stay, and are reported in the joined error.
func (c *Client) RequeueFailedMatching(ctx context.Context, f FailedFilter, progress func(done, total int)) (int, error) {
	seqs, err := c.matchingFailed(ctx, f)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i, seq := range seqs {
		if _, err := c.RequeueFailed(ctx, seq); err != nil {
			errs = append(errs, err)
		} else {
			n++
		}
		if progress != nil {
			progress(i+1, len(seqs))
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
	}
	return n, errors.Join(errs...)
}

// DeleteFailedMatching deletes every failed-job record that matches f and
// returns how many it deleted.
func (c *Client) DeleteFailedMatching(ctx context.Context, f FailedFilter) (int, error) {
	seqs, err := c.matchingFailed(ctx, f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, seq := range seqs {
		if err := c.DeleteFailed(ctx, seq); err != nil && !errors.Is(err, ErrJobNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

func (c *Client) matchingFailed(ctx context.Context, f FailedFilter) ([]uint64, error) {
	var seqs []uint64
	q := FailedQuery{FailedFilter: f, Limit: MaxPageSize, From: 1}
	for {
		page, err := c.FailedPage(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			seqs = append(seqs, r.Seq)
		}
		if page.Next == 0 {
			return seqs, nil
		}
		q.From = page.Next
	}
}

// FailedCounts returns the failed-job records of each queue, from one stream
// info: no record is read.
func (c *Client) FailedCounts(ctx context.Context) (map[string]uint64, error) {
	s, err := c.failedStream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(layout.FailedSubjectPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("naq: count failed jobs: %w", err)
	}
	out := make(map[string]uint64, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		out[subj[len(layout.FailedSubjectPrefix):]] = n
	}
	return out, nil
}
