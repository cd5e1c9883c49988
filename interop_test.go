package naq_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
)

// The records below are Python naq's, byte for byte (testdata/python/gen.py
// wrote them): what a naq-go client meets on a server it shares with Python
// services.

func pythonRecord(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "python", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logBuffer collects a client's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines that contain s.
func (b *logBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// loggedClient is a client whose log lines the test reads.
func loggedClient(t *testing.T) (*naq.Client, jetstream.JetStream, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, nc := newClient(t, naq.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c, js, logs
}

// wantOneLine fails unless exactly one log line says want.
func wantOneLine(t *testing.T, logs *logBuffer, want string) {
	t.Helper()
	if got := logs.lines("written by another naq"); len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("log lines about skipped records: %q, want one saying %q", got, want)
	}
}

func kvPut(t *testing.T, js jetstream.JetStream, bucket, key string, value []byte) uint64 {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(t.Context(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// Python workers are listed with what their heartbeats say; records that are
// not plain data are skipped with one line for all of them.
func TestListWorkersReadsPythonHeartbeats(t *testing.T) {
	c, js, logs := loggedClient(t)
	if _, err := c.ListWorkers(t.Context()); err != nil { // provisions naq_workers
		t.Fatal(err)
	}
	kvPut(t, js, "naq_workers", "naq-worker-pyhost-4242-a1b2c3", pythonRecord(t, "worker-idle-p4.pickle"))
	kvPut(t, js, "naq_workers", "naq-worker-pyhost-4243-d4e5f6", pythonRecord(t, "worker-busy-p5.pickle"))
	kvPut(t, js, "naq_workers", "odd-1", pythonRecord(t, "refuse-object.pickle"))
	kvPut(t, js, "naq_workers", "odd-2", []byte("\x80\x04not a pickle"))
	kvPut(t, js, "naq_workers", "odd-3", []byte(`{"something":"else"}`))
	ws, err := c.ListWorkers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Fatalf("workers %+v, want the two Python workers", ws)
	}
	idle, busy := ws[0], ws[1]
	if idle.ID != "naq-worker-pyhost-4242-a1b2c3" || idle.State != naq.WorkerIdle || idle.Hostname != "pyhost" ||
		idle.PID != 4242 || len(idle.RunningJobs) != 0 || !idle.Foreign || !idle.Stale ||
		!idle.LastHeartbeat.Equal(time.Unix(1767225600, 5e8)) {
		t.Errorf("idle Python worker %+v", idle)
	}
	if busy.State != naq.WorkerBusy || busy.PID != 4243 || len(busy.RunningJobs) != 1 ||
		busy.RunningJobs[0] != "0f9e8d7c6b5a49382716051423324150" || !busy.LastHeartbeat.Equal(time.Unix(1767225601, 25e7)) {
		t.Errorf("busy Python worker %+v", busy)
	}
	wantOneLine(t, logs, "3 worker records written by another naq skipped")
}

// Python's failed-job records show their function, error, traceback, the
// repr of their arguments and a failure time (the stream's); unreadable ones
// are skipped with one line, and reading one by its sequence says why.
func TestFailedJobsReadPythonRecords(t *testing.T) {
	c, js, logs := loggedClient(t)
	if _, err := c.ListFailed(t.Context(), "", 0); err != nil { // provisions naq_failed_jobs
		t.Fatal(err)
	}
	pub := func(data []byte) *jetstream.PubAck {
		ack, err := js.Publish(t.Context(), "naq.failed.text_jobs", data)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	jsonAck := pub(pythonRecord(t, "failed.json"))
	pub(pythonRecord(t, "schedule-p4.pickle"))
	pickleAck := pub(pythonRecord(t, "failed-p4.pickle"))
	oddAck := pub([]byte("\x80\x05garbage"))
	recs, err := c.ListFailed(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Seq != jsonAck.Sequence || recs[1].Seq != pickleAck.Sequence {
		t.Fatalf("records %+v", recs)
	}
	s, err := js.Stream(t.Context(), "naq_failed_jobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		m, err := s.GetMsg(t.Context(), r.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if r.JobID != "7d793037a0760186574b0282f2f435e7" || r.Name != "count_words" || r.Queue != "text_jobs" ||
			r.Error != "division by zero" || !strings.Contains(r.Traceback, "ZeroDivisionError") ||
			r.ArgsRepr != "('some text',)" || r.KwargsRepr != "{'lang': 'en'}" || !r.Foreign ||
			!r.EnqueuedAt.Equal(time.Unix(1767225600, 125e6)) || !r.FailedAt.Equal(m.Time) {
			t.Errorf("record %d: %+v", r.Seq, r)
		}
	}
	wantOneLine(t, logs, "2 failed-job records written by another naq skipped")
	if _, err := c.FailedJob(t.Context(), oddAck.Sequence); !errors.Is(err, naq.ErrForeignRecord) {
		t.Errorf("FailedJob of an unreadable record: %v, want ErrForeignRecord", err)
	}
	if _, err := c.RequeueFailed(t.Context(), jsonAck.Sequence); !errors.Is(err, naq.ErrNotRequeueable) {
		t.Errorf("RequeueFailed of a Python record: %v, want ErrNotRequeueable", err)
	}
	if r, err := c.FailedJob(t.Context(), jsonAck.Sequence); err != nil || r.Name != "count_words" {
		t.Errorf("the Python record after a refused requeue: %+v, %v", r, err)
	}
}

// Results and statuses Python naq wrote read as naq-go's do: Result, Status
// and Wait.
func TestResultsAndStatusReadPythonRecords(t *testing.T) {
	c, js, _ := loggedClient(t)
	const (
		done     = "00000000000000000000000000000a01"
		failed   = "00000000000000000000000000000a02"
		onlyStat = "00000000000000000000000000000a03"
		pickled  = "00000000000000000000000000000a04"
		opaque   = "00000000000000000000000000000a05"
	)
	kvPut(t, js, "naq_results", done, pythonRecord(t, "result-completed.json"))
	kvPut(t, js, "naq_job_status", done, []byte("completed"))
	kvPut(t, js, "naq_results", failed, pythonRecord(t, "result-failed.json"))
	kvPut(t, js, "naq_job_status", failed, []byte("failed"))
	kvPut(t, js, "naq_job_status", onlyStat, []byte("failed"))
	kvPut(t, js, "naq_results", pickled, pythonRecord(t, "result-completed-p4.pickle"))
	kvPut(t, js, "naq_results", opaque, pythonRecord(t, "refuse-object.pickle"))
	kvPut(t, js, "naq_job_status", opaque, []byte("completed"))

	r, err := c.Result(t.Context(), done)
	if err != nil || r.Status != naq.StateCompleted || r.JobID != done || r.Err() != nil {
		t.Errorf("completed result: %+v, %v", r, err)
	}
	st, err := c.Status(t.Context(), done)
	if err != nil || st.State != naq.StateCompleted {
		t.Errorf("completed status: %+v, %v", st, err)
	}

	var jf *naq.JobFailedError
	r, err = c.Wait(t.Context(), failed)
	if r == nil || !errors.As(err, &jf) || jf.Message != "division by zero" || !strings.Contains(jf.Traceback, "ZeroDivisionError") ||
		jf.Error() != "job "+failed+" failed: division by zero" {
		t.Errorf("Wait on a failed Python job: %+v, %v", r, err)
	}
	if st, err := c.Status(t.Context(), failed); err != nil || st.State != naq.StateFailed || st.Error != "division by zero" {
		t.Errorf("failed status: %+v, %v", st, err)
	}

	before := time.Now()
	if st, err := c.Status(t.Context(), onlyStat); err != nil || st.State != naq.StateFailed || st.UpdatedAt.After(before) || st.UpdatedAt.IsZero() {
		t.Errorf("status from the bare word: %+v, %v", st, err)
	}
	if _, err := c.Result(t.Context(), onlyStat); !errors.Is(err, naq.ErrResultNotReady) {
		t.Errorf("result of a job with only a status: %v, want ErrResultNotReady", err)
	}

	r, err = c.Result(t.Context(), pickled)
	var v struct {
		Words int     `json:"words"`
		Ratio float64 `json:"ratio"`
	}
	if err != nil || r.Decode(&v) != nil || v.Words != 7 || v.Ratio != 0.5 {
		t.Errorf("pickled result: %+v %+v, %v", r, v, err)
	}

	if _, err := c.Result(t.Context(), opaque); !errors.Is(err, naq.ErrForeignRecord) {
		t.Errorf("unreadable result: %v, want ErrForeignRecord", err)
	}
	if st, err := c.Status(t.Context(), opaque); err != nil || st.State != naq.StateCompleted {
		t.Errorf("status of a job whose result is unreadable: %+v, %v", st, err)
	}
}

// Python's pickled schedules are skipped by every listing with one line, and
// no schedule operation changes them.
func TestSchedulesSkipPythonRecords(t *testing.T) {
	c, js, logs := loggedClient(t)
	mine, err := c.Schedule(t.Context(), "tasks:report", nil, naq.Every(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data := pythonRecord(t, "schedule-p4.pickle")
	keys := []string{"5d41402abc4b2a76b9719d911017c592", "5d41402abc4b2a76b9719d911017c593", "5d41402abc4b2a76b9719d911017c594"}
	revs := map[string]uint64{}
	for _, k := range keys {
		revs[k] = kvPut(t, js, "naq_scheduled_jobs", k, data)
	}
	all, err := c.ListSchedules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != mine.ID {
		t.Fatalf("schedules %+v, want only naq-go's", all)
	}
	wantOneLine(t, logs, "3 schedules written by another naq skipped")
	if _, err := c.GetSchedule(t.Context(), keys[0]); !errors.Is(err, naq.ErrForeignRecord) {
		t.Errorf("GetSchedule of a Python schedule: %v, want ErrForeignRecord", err)
	}
	if _, err := c.PauseSchedule(t.Context(), keys[0]); !errors.Is(err, naq.ErrForeignRecord) {
		t.Errorf("PauseSchedule of a Python schedule: %v, want ErrForeignRecord", err)
	}
	if _, err := c.CancelSchedule(t.Context(), keys[1]); !errors.Is(err, naq.ErrForeignRecord) {
		t.Errorf("CancelSchedule of a Python schedule: %v, want ErrForeignRecord", err)
	}
	kv, err := js.KeyValue(t.Context(), "naq_scheduled_jobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		e, err := kv.Get(t.Context(), k)
		if err != nil || e.Revision() != revs[k] || !bytes.Equal(e.Value(), data) {
			t.Errorf("Python schedule %s changed: %v", k, err)
		}
	}
}

// A job whose name or arguments are not UTF-8 is refused at enqueue: written
// as JSON it would change, or not be JSON.
func TestEnqueueRefusesInvalidUTF8(t *testing.T) {
	c, _ := newClient(t)
	cases := map[string]func() error{
		"name": func() error {
			_, err := c.Enqueue(t.Context(), "m:f\xff", nil)
			if !errors.Is(err, naq.ErrInvalidJob) {
				return errors.New("not ErrInvalidJob")
			}
			return err
		},
		"raw argument": func() error {
			_, err := c.Enqueue(t.Context(), "m:f", naq.Args{json.RawMessage("\"\xff\"")})
			return err
		},
		"keyword": func() error {
			j, err := naq.NewJob("m:f", nil)
			if err != nil {
				return err
			}
			j.Kwargs["k\xff"] = json.RawMessage("1")
			return c.EnqueueJob(t.Context(), j)
		},
		"keyword, in a batch": func() error {
			ok, _ := naq.NewJob("m:f", naq.Kwargs{"a": 1})
			j, _ := naq.NewJob("m:f", naq.Kwargs{"b": 2})
			j.Kwargs["k\xff"] = json.RawMessage("1")
			return c.EnqueueMany(t.Context(), []*naq.Job{ok, j})
		},
	}
	for name, enqueue := range cases {
		if err := enqueue(); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: %v, want an error about UTF-8", name, err)
		}
	}
	if n := storedJobs(t, c); n != 0 {
		t.Errorf("%d jobs stored", n)
	}
}
