package naq_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
)

// The wire vectors are shared with Python naq in <repo>/../shared/wire (or
// $NAQ_WIRE_DIR). A copy lives in testdata/wire so the tests run anywhere;
// TestWireVectorsCopyUpToDate fails when the copy lags behind the shared dir.

const localWireDir = "testdata/wire"

// sharedWireDir returns the shared vector directory, or "" when there is none.
func sharedWireDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("NAQ_WIRE_DIR"); d != "" {
		if !isDir(d) {
			t.Fatalf("NAQ_WIRE_DIR=%s is not a directory", d)
		}
		return d
	}
	// Walk up from the package directory to the module root (go.mod), then
	// look beside it: <clone>/../shared/wire.
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if d := filepath.Join(dir, "..", "shared", "wire"); isDir(d) {
				return d
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// wireDir returns the directory the vector tests read: the repo's copy when
// present, else the shared dir; it skips when neither exists.
func wireDir(t *testing.T) string {
	t.Helper()
	if isDir(localWireDir) {
		return localWireDir
	}
	if d := sharedWireDir(t); d != "" {
		return d
	}
	t.Skipf("no wire vectors: neither %s nor ../shared/wire beside the repo exists, and NAQ_WIRE_DIR is unset", localWireDir)
	return ""
}

func jsonFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(m))
	for i, p := range m {
		names[i] = filepath.Base(p)
	}
	sort.Strings(names)
	return names
}

func TestWireVectorsCopyUpToDate(t *testing.T) {
	shared := sharedWireDir(t)
	if shared == "" {
		if !isDir(localWireDir) {
			t.Skip("no shared wire dir (../shared/wire or NAQ_WIRE_DIR) and no testdata/wire copy")
		}
		t.Skip("no shared wire dir beside the repo to compare testdata/wire with (set NAQ_WIRE_DIR)")
	}
	names := jsonFiles(t, shared)
	if len(names) == 0 {
		t.Fatalf("shared wire dir %s holds no vectors", shared)
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(shared, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(localWireDir, name))
		if err != nil {
			t.Errorf("%s/%s is missing: copy it from %s", localWireDir, name, shared)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%s differs from %s/%s: copy it again", localWireDir, name, shared, name)
		}
	}
}

// loadExpected reads expected.json: file name → decoded values, or nil for a
// vector that must be rejected as malformed.
func loadExpected(t *testing.T, dir string) map[string]map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatalf("read expected.json: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("parse expected.json: %v", err)
	}
	out := make(map[string]map[string]json.RawMessage, len(raw))
	for name, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			if s != "malformed" {
				t.Fatalf("expected.json: %s: unknown expectation %q", name, s)
			}
			out[name] = nil
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(v, &fields); err != nil {
			t.Fatalf("expected.json: %s: %v", name, err)
		}
		out[name] = fields
	}
	return out
}

func readVector(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWireVectorsCovered makes sure no vector goes untested: every job and
// malformed vector has an expectation, and every expectation a vector.
func TestWireVectorsCovered(t *testing.T) {
	dir := wireDir(t)
	exp := loadExpected(t, dir)
	files := jsonFiles(t, dir)
	for _, name := range files {
		if strings.HasPrefix(name, "job-") || strings.HasPrefix(name, "malformed-") {
			if _, ok := exp[name]; !ok {
				t.Errorf("%s has no entry in expected.json", name)
			}
		}
	}
	for name := range exp {
		if !slices.Contains(files, name) {
			t.Errorf("expected.json names %s, which is not in %s", name, dir)
		}
	}
	if !slices.ContainsFunc(files, func(s string) bool { return strings.HasPrefix(s, "result-") }) {
		t.Errorf("no result vectors in %s", dir)
	}
}

func TestWireJobVectors(t *testing.T) {
	dir := wireDir(t)
	exp := loadExpected(t, dir)
	names := make([]string, 0, len(exp))
	for name := range exp {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fields := exp[name]
		t.Run(name, func(t *testing.T) {
			data := readVector(t, dir, name)
			j, err := naq.DecodeJob(data)
			if fields == nil {
				checkMalformed(t, name, j, err)
				return
			}
			if err != nil {
				t.Fatalf("DecodeJob: %v", err)
			}
			checkExpected(t, j, fields)
		})
	}
}

// malformedHint is what the error for each malformed vector must mention.
var malformedHint = map[string]string{
	"malformed-no-function.json": "function",
	"malformed-wrong-types.json": "args",
	"malformed-not-json.json":    "JSON",
}

func checkMalformed(t *testing.T, name string, j *naq.Job, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("DecodeJob accepted a malformed vector: %+v", j)
	}
	if !errors.Is(err, naq.ErrMalformedJob) {
		t.Fatalf("error %v does not wrap ErrMalformedJob", err)
	}
	if j != nil {
		t.Errorf("DecodeJob returned a job with its error: %+v", j)
	}
	msg := err.Error()
	detail := strings.TrimSpace(strings.TrimPrefix(msg, naq.ErrMalformedJob.Error()))
	if len(detail) < 5 {
		t.Errorf("error %q does not say what is wrong", msg)
	}
	if hint, ok := malformedHint[name]; ok && !strings.Contains(msg, hint) {
		t.Errorf("error %q does not mention %q", msg, hint)
	}
}

func secondsDur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// jsonEqual compares two JSON values semantically (whitespace and key order
// aside).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("bad JSON %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nullableStrings decodes an expected null-or-list field.
func nullableStrings(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var s []string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("expected list or null, got %s", raw)
	}
	if s == nil {
		s = []string{}
	}
	return s
}

func checkNullableStrings(t *testing.T, field string, got []string, raw json.RawMessage) {
	t.Helper()
	want := nullableStrings(t, raw)
	if (want == nil) != (got == nil) || !slices.Equal(got, want) {
		t.Errorf("%s = %#v, want %#v (null vs list matters)", field, got, want)
	}
}

func checkExpected(t *testing.T, j *naq.Job, fields map[string]json.RawMessage) {
	t.Helper()
	get := func(key string, v any) {
		t.Helper()
		if err := json.Unmarshal(fields[key], v); err != nil {
			t.Fatalf("expected.json %s: %v", key, err)
		}
	}
	for key, raw := range fields {
		switch key {
		case "job_id":
			var s string
			get(key, &s)
			if j.ID != s {
				t.Errorf("ID = %q, want %q", j.ID, s)
			}
		case "function":
			var s string
			get(key, &s)
			if j.Name != s {
				t.Errorf("Name = %q, want %q", j.Name, s)
			}
		case "args":
			if got := mustJSON(t, j.Args); !jsonEqual(t, got, raw) {
				t.Errorf("Args = %s, want %s", got, raw)
			}
			if j.Args == nil {
				t.Errorf("Args is nil, want an empty list")
			}
		case "kwargs":
			if got := mustJSON(t, j.Kwargs); !jsonEqual(t, got, raw) {
				t.Errorf("Kwargs = %s, want %s", got, raw)
			}
			if j.Kwargs == nil {
				t.Errorf("Kwargs is nil, want an empty object")
			}
		case "max_retries":
			var n int
			get(key, &n)
			if j.MaxRetries != n {
				t.Errorf("MaxRetries = %d, want %d", j.MaxRetries, n)
			}
		case "retry_delay":
			var s []float64
			get(key, &s)
			want := make([]time.Duration, len(s))
			for i, x := range s {
				want[i] = secondsDur(x)
			}
			if !slices.Equal(j.RetryDelay, want) {
				t.Errorf("RetryDelay = %v, want %v", j.RetryDelay, want)
			}
		case "retry_strategy":
			var s string
			get(key, &s)
			if string(j.RetryStrategy) != s {
				t.Errorf("RetryStrategy = %q, want %q", j.RetryStrategy, s)
			}
		case "queue_name":
			var s string
			get(key, &s)
			if j.Queue != s {
				t.Errorf("Queue = %q, want %q", j.Queue, s)
			}
		case "depends_on":
			var s []string
			get(key, &s)
			if j.DependsOn == nil || !slices.Equal(j.DependsOn, s) {
				t.Errorf("DependsOn = %#v, want %#v", j.DependsOn, s)
			}
		case "result_ttl_seconds":
			var s float64
			get(key, &s)
			// ResultTTL 0 means the default (7 days) in naq-go's model.
			got := j.ResultTTL
			if got == 0 {
				got = 7 * 24 * time.Hour
			}
			if got != secondsDur(s) {
				t.Errorf("effective ResultTTL = %v (field %v), want %v", got, j.ResultTTL, secondsDur(s))
			}
		case "timeout_seconds":
			var s *float64
			get(key, &s)
			var want time.Duration // null: no limit
			if s != nil {
				want = secondsDur(*s)
			}
			if j.Timeout != want {
				t.Errorf("Timeout = %v, want %v", j.Timeout, want)
			}
		case "retry_on":
			checkNullableStrings(t, "RetryOn", j.RetryOn, raw)
		case "ignore_on":
			checkNullableStrings(t, "IgnoreOn", j.IgnoreOn, raw)
		default:
			const prefix, suffix = "retry_delays_for_attempts_1_to_", "_seconds"
			if !strings.HasPrefix(key, prefix) || !strings.HasSuffix(key, suffix) {
				t.Errorf("expected.json field %q is not checked by this test: teach it", key)
				continue
			}
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, prefix), suffix))
			if err != nil {
				t.Fatalf("expected.json field %q: %v", key, err)
			}
			var s []float64
			get(key, &s)
			if len(s) != n {
				t.Fatalf("expected.json field %q has %d values", key, len(s))
			}
			for i, x := range s {
				// Attempt i+1 failed; the wait before retry i (from 0).
				if got := j.RetryDelayFor(i); got != secondsDur(x) {
					t.Errorf("RetryDelayFor(%d) = %v, want %v", i, got, secondsDur(x))
				}
			}
		}
	}
}

// pythonJobKeys are the fields Python naq writes and expects.
var pythonJobKeys = []string{
	"job_id", "enqueue_time", "function", "args", "kwargs", "max_retries", "retry_delay",
	"queue_name", "depends_on", "result_ttl", "timeout", "retry_strategy", "retry_on", "ignore_on",
}

func TestWireRoundTrip(t *testing.T) {
	dir := wireDir(t)
	exp := loadExpected(t, dir)
	for name, fields := range exp {
		if fields == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			j1, err := naq.DecodeJob(readVector(t, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			enc := encodeForPython(t, j1)
			j2, err := naq.DecodeJob(enc)
			if err != nil {
				t.Fatalf("decode of encoded job %s: %v", enc, err)
			}
			assertSameJob(t, j1, j2)
			checkExpected(t, j2, fields)
		})
	}
}

// TestWireRoundTripBuiltJob round-trips a job built by NewJob with every
// option, including delays that are not whole seconds.
func TestWireRoundTripBuiltJob(t *testing.T) {
	j1, err := naq.NewJob("tasks:add", naq.Args{1, "two", map[string]int{"three": 3}},
		naq.Queue("q1"), naq.JobID("abc-123_x="), naq.MaxRetries(5),
		naq.RetryDelay(1500*time.Millisecond, 18*time.Hour+39*time.Minute+10533*time.Millisecond),
		naq.WithRetryStrategy(naq.Exponential), naq.RetryOn("a:B"), naq.IgnoreOn("c:D", "e:F"),
		naq.Timeout(2700*time.Millisecond), naq.DependsOn("dep1", "dep2"), naq.ResultTTL(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	j2, err := naq.DecodeJob(encodeForPython(t, j1))
	if err != nil {
		t.Fatal(err)
	}
	assertSameJob(t, j1, j2)

	// A job not yet given a queue encodes with the default one, so that the
	// output is a valid job.
	j3, err := naq.NewJob("tasks:x", nil)
	if err != nil {
		t.Fatal(err)
	}
	j4, err := naq.DecodeJob(encodeForPython(t, j3))
	if err != nil {
		t.Fatalf("encoded NewJob without a queue does not decode: %v", err)
	}
	if j4.Queue != naq.DefaultQueue {
		t.Errorf("Queue = %q, want %q", j4.Queue, naq.DefaultQueue)
	}
}

// encodeForPython encodes j and checks the output has Python naq's shape.
func encodeForPython(t *testing.T, j *naq.Job) []byte {
	t.Helper()
	enc, err := j.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatalf("Encode output is not a JSON object: %v\n%s", err, enc)
	}
	for _, k := range pythonJobKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("Encode output lacks Python naq key %q: %s", k, enc)
		}
	}
	kind := func(k string) byte {
		v := bytes.TrimSpace(m[k])
		if len(v) == 0 {
			return 0
		}
		return v[0]
	}
	if kind("args") != '[' || kind("kwargs") != '{' || kind("depends_on") != '[' {
		t.Errorf("args/kwargs/depends_on have the wrong JSON types: %s", enc)
	}
	if c := kind("job_id"); c != '"' {
		t.Errorf("job_id is not a string: %s", enc)
	}
	if c := kind("retry_delay"); c != '[' && (c < '0' || c > '9') {
		t.Errorf("retry_delay is not a number or array: %s", enc)
	}
	return enc
}

func assertSameJob(t *testing.T, a, b *naq.Job) {
	t.Helper()
	if d := a.EnqueuedAt.Sub(b.EnqueuedAt).Abs(); d > time.Microsecond {
		t.Errorf("EnqueuedAt %v != %v (float seconds keep about a microsecond)", a.EnqueuedAt, b.EnqueuedAt)
	}
	if !jsonEqual(t, mustJSON(t, a.Args), mustJSON(t, b.Args)) {
		t.Errorf("Args %s != %s", mustJSON(t, a.Args), mustJSON(t, b.Args))
	}
	if !jsonEqual(t, mustJSON(t, a.Kwargs), mustJSON(t, b.Kwargs)) {
		t.Errorf("Kwargs %s != %s", mustJSON(t, a.Kwargs), mustJSON(t, b.Kwargs))
	}
	ca, cb := *a, *b
	ca.EnqueuedAt, cb.EnqueuedAt = time.Time{}, time.Time{}
	ca.Args, cb.Args, ca.Kwargs, cb.Kwargs = nil, nil, nil, nil
	if diff := cmp.Diff(ca, cb, cmp.AllowUnexported(naq.Job{})); diff != "" {
		t.Errorf("round trip changed the job (-before +after):\n%s", diff)
	}
}

func TestWireResultVectors(t *testing.T) {
	dir := wireDir(t)
	var n int
	for _, name := range jsonFiles(t, dir) {
		if !strings.HasPrefix(name, "result-") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			data := readVector(t, dir, name)
			var r naq.Result
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("unmarshal into naq.Result: %v", err)
			}
			var raw struct {
				Status    string          `json:"status"`
				Result    json.RawMessage `json:"result"`
				Error     *string         `json:"error"`
				Traceback *string         `json:"traceback"`
			}
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			if string(r.Status) != raw.Status || !r.Status.Terminal() {
				t.Errorf("Status = %q, want terminal %q", r.Status, raw.Status)
			}
			if !reflect.DeepEqual(r.Error, raw.Error) || !reflect.DeepEqual(r.Traceback, raw.Traceback) {
				t.Errorf("Error/Traceback = %v/%v, want %v/%v", r.Error, r.Traceback, raw.Error, raw.Traceback)
			}
			if !jsonEqual(t, r.Value, raw.Result) {
				t.Errorf("Value = %s, want %s", r.Value, raw.Result)
			}
			switch r.Status {
			case naq.StateCompleted:
				if err := r.Err(); err != nil {
					t.Errorf("Err() = %v for a completed job", err)
				}
			case naq.StateFailed:
				var fe *naq.JobFailedError
				if err := r.Decode(new(any)); !errors.As(err, &fe) {
					t.Fatalf("Decode of a failed result = %v, want *JobFailedError", err)
				}
				if raw.Error != nil && fe.Message != *raw.Error {
					t.Errorf("JobFailedError.Message = %q, want %q", fe.Message, *raw.Error)
				}
				if raw.Traceback != nil && fe.Traceback != *raw.Traceback {
					t.Errorf("JobFailedError.Traceback = %q, want %q", fe.Traceback, *raw.Traceback)
				}
			}
		})
	}
	if n == 0 {
		t.Fatalf("no result-*.json vectors in %s", dir)
	}
}

// TestWireResultValues pins the two known result vectors' contents.
func TestWireResultValues(t *testing.T) {
	dir := wireDir(t)
	var done naq.Result
	if err := json.Unmarshal(readVector(t, dir, "result-completed.json"), &done); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := done.Decode(&n); err != nil || n != 8 {
		t.Errorf("completed Decode = %d, %v; want 8, nil", n, err)
	}
	if done.Error != nil || done.Traceback != nil {
		t.Errorf("completed result has error %v / traceback %v", done.Error, done.Traceback)
	}
	var failed naq.Result
	if err := json.Unmarshal(readVector(t, dir, "result-failed.json"), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.Status != naq.StateFailed || failed.Error == nil || *failed.Error != "division by zero" {
		t.Errorf("failed result = %+v", failed)
	}
	if failed.Traceback == nil || !strings.Contains(*failed.Traceback, "ZeroDivisionError") {
		t.Errorf("failed traceback = %v", failed.Traceback)
	}
	if string(bytes.TrimSpace(failed.Value)) != "null" {
		t.Errorf("failed result value = %s, want null", failed.Value)
	}
}

// Times and TTLs that no record could carry, or that could not be kept as
// asked, make a job malformed, with a message that names the field.
func TestDecodeJobRefusesOutOfRangeTimes(t *testing.T) {
	for body, field := range map[string]string{
		`{"job_id":"a","function":"m:f","enqueue_time":1e300}`:        "enqueue_time",
		`{"job_id":"a","function":"m:f","enqueue_time":-5}`:           "enqueue_time",
		`{"job_id":"a","function":"m:f","enqueue_time":253402300800}`: "enqueue_time",
		`{"job_id":"a","function":"m:f","result_ttl":0.5}`:            "result_ttl",
		`{"job_id":"a","function":"m:f","result_ttl":-1}`:             "result_ttl",
		`{"job_id":"a","function":"m:f","timeout":1e300}`:             "timeout",
	} {
		j, err := naq.DecodeJob([]byte(body))
		if !errors.Is(err, naq.ErrMalformedJob) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, %v; want ErrMalformedJob naming %s", body, j, err, field)
		}
	}
	for _, body := range []string{
		`{"job_id":"a","function":"m:f","enqueue_time":253402300799,"result_ttl":0}`,
		`{"job_id":"a","function":"m:f","enqueue_time":0,"result_ttl":1}`,
	} {
		if _, err := naq.DecodeJob([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}
