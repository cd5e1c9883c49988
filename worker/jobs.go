package worker

// JobStatusManager: job status records and results as the worker writes and
// reads them (through internal/records, which encodes and keys them),
// dependency checks, and the records' constructors. Not here: the
// failed-jobs stream (failed.go) or the worker's own record (status.go).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/records"
)

// JobStatusManager writes job status records and results, and checks
// dependencies.
type JobStatusManager struct {
	sh    *Shared
	store records.Store

	// bucketTTL is the results bucket's max age: a result kept that long
	// needs no TTL header of its own, which spares the server a per-message
	// timer on the job path.
	bucketTTL time.Duration
	// perJobTTL: the results bucket takes per-message TTLs.
	perJobTTL bool
	// maxValue is the largest result value a record can hold: the server's
	// max payload (or the bucket's max message size), less room for the
	// record around it.
	maxValue int
	// batched: the results bucket takes fast batches (see asyncpub.BatchWriter).
	batched bool
	// bufs holds result encodings for reuse (*[]byte): a result's bytes are
	// the largest allocation on the job path.
	bufs sync.Pool
}

// NewJobStatusManager provisions naq_results and naq_job_status.
func NewJobStatusManager(ctx context.Context, sh *Shared) (*JobStatusManager, error) {
	results, err := layout.EnsureBucket(ctx, sh.JS, sh.layout(), layout.ResultsBucket)
	if err != nil {
		return nil, err
	}
	status, err := layout.EnsureBucket(ctx, sh.JS, sh.layout(), layout.StatusBucket)
	if err != nil {
		return nil, err
	}
	batched, err := layout.AllowBatches(ctx, sh.JS, layout.ResultsStream)
	if err != nil {
		sh.Logger.Warn("results are written one by one", "err", err)
	}
	m := &JobStatusManager{sh: sh, store: records.Store{Results: results, Status: status},
		bucketTTL: layout.DefaultResultTTL, batched: batched}
	// A bucket another naq made keeps its own max age, and may not take
	// per-message TTLs: results then live as long as the bucket keeps them.
	limit := int(sh.Conn.MaxPayload())
	if st, err := results.Status(ctx); err == nil {
		m.bucketTTL = st.TTL()
		if kst, ok := st.(*jetstream.KeyValueBucketStatus); ok {
			if n := int(kst.StreamInfo().Config.MaxMsgSize); n > 0 && n < limit {
				limit = n
			}
		}
	}
	m.maxValue = max(limit-recordRoom, 0)
	if m.perJobTTL, err = layout.MsgTTLAllowed(ctx, sh.JS, layout.ResultsStream); err != nil {
		return nil, err
	}
	if !m.perJobTTL {
		sh.Logger.Warn("the results bucket does not take per-message TTLs: every result is kept for the bucket's max age, whatever the job's result TTL",
			"bucket", layout.ResultsBucket, "max_age", m.bucketTTL)
	}
	return m, nil
}

// setResultMsg makes msg the write of job's encoded result: a Nats-TTL
// header only for a TTL other than the bucket's.
func (m *JobStatusManager) setResultMsg(msg *nats.Msg, job *naq.Job, data []byte) {
	ttl := records.TTL(job.ResultTTL)
	if m.bucketTTL > 0 && ttl > m.bucketTTL {
		ttl = m.bucketTTL // the bucket's max age removes it then anyway
	} else if ttl > layout.SafeWait {
		// A TTL reaching past the server's horizon would expire the result
		// at once.
		ttl = layout.CapWait(time.Now(), ttl).Truncate(time.Second)
	}
	if ttl == m.bucketTTL || !m.perJobTTL {
		ttl = 0
	}
	records.SetResultMsg(msg, job.ID, data, ttl)
}

// resultMsgInto makes msg the write of res as job's result, with the job's
// result TTL, encoding into a pooled buffer that goes back with releaseBuf
// once the write is answered.
func (m *JobStatusManager) resultMsgInto(msg *nats.Msg, job *naq.Job, res *naq.Result) *[]byte {
	buf, _ := m.bufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = records.AppendResult((*buf)[:0], (*records.Result)(res))
	m.setResultMsg(msg, job, *buf)
	return buf
}

// recordRoom is what a result record needs besides its value: ids, names,
// times, an error text and traceback cut to maxErrorText each, headers.
const recordRoom = 2*maxErrorText + 8<<10

// maxErrorText bounds an error text or traceback in a record, so a failure
// is always stored.
const maxErrorText = 64 << 10

// maxPooledResult bounds the encodings kept for reuse: a rare huge result
// should not stay in memory.
const maxPooledResult = 16 << 10

func (m *JobStatusManager) releaseBuf(buf *[]byte) {
	if buf != nil && cap(*buf) <= maxPooledResult {
		m.bufs.Put(buf)
	}
}

// StoreResult writes a job's result and waits until the server has stored
// it.
func (m *JobStatusManager) StoreResult(ctx context.Context, job *naq.Job, res *naq.Result) error {
	msg := new(nats.Msg)
	m.setResultMsg(msg, job, records.EncodeResult((*records.Result)(res)))
	if _, err := m.sh.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("store result of job %s: %w", job.ID, err)
	}
	return nil
}

// publishStatus starts writing a job's status record, without waiting.
func (m *JobStatusManager) publishStatus(st *naq.JobStatus) error {
	msg, err := m.statusMsg(st)
	if err != nil {
		return err
	}
	_, err = m.sh.JS.PublishMsgAsync(msg)
	return err
}

// statusMsg is the message that stores st as its job's status record.
func (m *JobStatusManager) statusMsg(st *naq.JobStatus) (*nats.Msg, error) {
	st.UpdatedAt = time.Now().UTC()
	return records.StatusMsg((*records.Status)(st))
}

// SetStatus writes a job's status record and waits until it is stored.
func (m *JobStatusManager) SetStatus(ctx context.Context, st *naq.JobStatus) error {
	msg, err := m.statusMsg(st)
	if err != nil {
		return err
	}
	if _, err := m.sh.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("write status of job %s: %w", st.JobID, err)
	}
	return nil
}

// Status reads a job's status record; nil when there is none.
func (m *JobStatusManager) Status(ctx context.Context, id string) (*naq.JobStatus, error) {
	st, err := m.store.StatusRecord(ctx, id)
	return (*naq.JobStatus)(st), err
}

// Result reads a job's result; nil when there is none or it is one naq-go
// cannot read (the status record may then say how the job ended).
func (m *JobStatusManager) Result(ctx context.Context, id string) (*naq.Result, error) {
	r, err := m.store.Result(ctx, id)
	if errors.Is(err, records.ErrForeign) {
		return nil, nil
	}
	return (*naq.Result)(r), err
}

// DependencyState says whether a job's dependencies let it run.
type DependencyState int

// Dependency states.
const (
	DepsReady   DependencyState = iota // every dependency completed
	DepsWaiting                        // some dependency has not finished
	DepsFailed                         // some dependency failed or was cancelled
)

// CheckDependencies reads the result of each of job's dependencies. Unless
// they are all ready it also returns the id of a dependency it waits for or
// that failed.
func (m *JobStatusManager) CheckDependencies(ctx context.Context, job *naq.Job) (DependencyState, string, error) {
	state, dep, _, err := m.DependencyResults(ctx, job)
	return state, dep, err
}

// statusOf starts job's status record in state s, as this worker writes it.
func (m *JobStatusManager) statusOf(j *naq.Job, s naq.State) *naq.JobStatus {
	return &naq.JobStatus{
		JobID: j.ID, State: s, Name: j.Name, Queue: j.Queue, Attempts: j.Attempt,
		MaxRetries: j.MaxRetries, WorkerID: m.sh.Identity.ID, EnqueuedAt: j.EnqueuedAt,
	}
}

// newResult makes res job's final record: completed with value when err is
// nil, else failed (cancelled, for a cancellation) with err's text and kind.
// attempts are the attempts that count; started is zero for a job that
// never ran. res is the delivery's own, which spares an allocation a job.
func (m *JobStatusManager) newResult(res *naq.Result, job *naq.Job, attempts int, started time.Time, value []byte, err error, traceback string) *naq.Result {
	*res = naq.Result{
		Status: naq.StateCompleted, Value: value, JobID: job.ID, Name: job.Name, Queue: job.Queue, Attempts: attempts,
		WorkerID: m.sh.Identity.ID, EnqueuedAt: job.EnqueuedAt, StartedAt: started, FinishedAt: time.Now().UTC(),
	}
	if m.sh.Config.ResultArgs && len(value)+records.ArgsSize(job.Args, job.Kwargs) <= m.maxValue {
		res.Args, res.Kwargs = job.Args, job.Kwargs // else the record could not be stored
	}
	if err != nil {
		msg := err.Error()
		res.Status, res.Value, res.Error, res.ErrorKind = naq.StateFailed, nil, &msg, ErrorKind(err)
		if res.ErrorKind == KindCancelled {
			res.Status = naq.StateCancelled
		}
		if traceback != "" {
			tb := traceback // its own variable: only a panic puts it on the heap
			res.Traceback = &tb
		}
	}
	return res
}
