package naq

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/nats-io/nats.go"
)

// encodeChunk is the fewest jobs worth a goroutine of their own when a batch
// is validated.
const encodeChunk = 1024

// checkIDs refuses nil jobs and ids given twice. It runs first and alone: a
// job given twice must not be encoded by two goroutines at once (encoding
// fills in its queue and enqueue time).
func checkIDs(jobs []*Job) error {
	seen := make(map[string]struct{}, len(jobs))
	for i, j := range jobs {
		if j == nil {
			return fmt.Errorf("%w: job %d of %d is nil (nothing was enqueued)", ErrInvalidJob, i+1, len(jobs))
		}
		if _, dup := seen[j.ID]; dup {
			return fmt.Errorf("%w: job id %s appears twice (nothing was enqueued)", ErrInvalidJob, j.ID)
		}
		seen[j.ID] = struct{}{}
	}
	return nil
}

// inParts runs each(p, lo, hi) on parts of jobs, one per core for a large
// batch (the server has nothing to do until every job is validated, and
// encoding is most of a bulk enqueue's client work: docs/benchmarks.md).
// each returns the index of the first bad job; the error names the first of
// all.
func inParts(jobs []*Job, each func(p, lo, hi int) (int, error)) (parts int, err error) {
	parts = max(1, min(runtime.GOMAXPROCS(0), len(jobs)/encodeChunk))
	bad := make([]int, parts)
	errs := make([]error, parts)
	if parts == 1 {
		bad[0], errs[0] = each(0, 0, len(jobs))
	} else {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() {
				bad[p], errs[p] = each(p, p*len(jobs)/parts, (p+1)*len(jobs)/parts)
			})
		}
		wg.Wait()
	}
	for p, err := range errs {
		if err != nil {
			return parts, fmt.Errorf("naq: job %d of %d: %w (nothing was enqueued)", bad[p]+1, len(jobs), err)
		}
	}
	return parts, nil
}

// encodeAll validates and encodes every job as a message before any is sent,
// for the batches whose messages must all exist at once (all-or-nothing, and
// enqueue hooks, which write into the headers).
func (c *Client) encodeAll(jobs []*Job) ([]*nats.Msg, error) {
	if err := checkIDs(jobs); err != nil {
		return nil, err
	}
	msgs := make([]*nats.Msg, len(jobs))
	_, err := inParts(jobs, func(_, lo, hi int) (int, error) {
		for i := lo; i < hi; i++ {
			m, err := c.jobMsg(jobs[i])
			if err != nil {
				return i, err
			}
			msgs[i] = m
		}
		return -1, nil
	})
	return msgs, err
}

// checkBulk validates every job of a pipelined batch, encoding each into a
// buffer it reuses, and keeps nothing: the jobs are encoded again as they are
// sent, with at most a window of writes in flight, so the batch holds no
// memory of its own in proportion to its size beyond a byte per job. Kept
// as messages, the encodings took about 1 KB a job (50 MB for 50,000 jobs,
// twice that in the heap's peak); encoding again costs about 1 µs of CPU a
// job, and in-process the whole enqueue used no more CPU than before
// (docs/benchmarks.md).
func (c *Client) checkBulk(jobs []*Job) error {
	if err := checkIDs(jobs); err != nil {
		return err
	}
	_, err := inParts(jobs, func(_, lo, hi int) (int, error) {
		var buf []byte
		for i := lo; i < hi; i++ {
			j := jobs[i]
			if err := c.checkJob(j); err != nil {
				return i, err
			}
			var err error
			if buf, err = j.appendWire(buf[:0], wireMeasure|wireChecked); err != nil {
				return i, fmt.Errorf("%w: %v", ErrInvalidArgs, err)
			}
			if c.checkSize(j, buf) != nil {
				// Measured with room for any time: the exact size decides.
				buf, _ = j.appendWire(buf[:0], wireChecked)
				if err := c.checkSize(j, buf); err != nil {
					return i, err
				}
			}
		}
		return -1, nil
	})
	return err
}
