package records_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/records"
)

// plainResult is Result without its hand-written encoder's help: what
// encoding/json makes of the same tags.
type plainResult records.Result

func TestAppendResultMatchesEncodingJSON(t *testing.T) {
	msg, tb := "boom \"quoted\"\n", "Traceback: é\t\u2028"
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	for _, r := range []records.Result{
		{Status: records.StateCompleted},
		{Status: records.StateCompleted, Value: json.RawMessage(`{"n":1}`), JobID: "j1", Name: "m:f", Queue: "q",
			Attempts: 2, WorkerID: "w", EnqueuedAt: at, StartedAt: at.Add(time.Second), FinishedAt: at.Add(2 * time.Second)},
		{Status: records.StateFailed, Error: &msg, Traceback: &tb, ErrorKind: "builtins:ValueError", JobID: "j2"},
		{Status: records.StateCompleted, JobID: "j3", Args: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`"<b>x</b>"`)},
			Kwargs: map[string]json.RawMessage{"z": json.RawMessage(`[1,{"a":null}]`), "a\"b": json.RawMessage(`true`), "m": json.RawMessage(`{}`)}},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode((*plainResult)(&r)); err != nil {
			t.Fatal(err)
		}
		if got := records.EncodeResult(&r); !bytes.Equal(got, bytes.TrimSpace(want.Bytes())) {
			t.Errorf("EncodeResult:\n got %s\nwant %s", got, want.Bytes())
		}
		back, err := records.DecodeResult("other", records.EncodeResult(&r))
		if err != nil {
			t.Fatal(err)
		}
		if r.JobID == "" {
			r.JobID = "other" // a record without an id is its key's
		}
		if r.Value == nil {
			r.Value = json.RawMessage("null")
		}
		if diff := cmp.Diff(&r, back); diff != "" {
			t.Errorf("DecodeResult(EncodeResult(r)) (-want +got):\n%s", diff)
		}
	}
}

// naq's public records are these, field for field and tag for tag: the
// public types convert to these without a copy, and encode the same.
func TestPublicTypesMatch(t *testing.T) {
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[naq.Result](), reflect.TypeFor[records.Result]()},
		{reflect.TypeFor[naq.JobStatus](), reflect.TypeFor[records.Status]()},
	} {
		pub, own := pair[0], pair[1]
		if pub.NumField() != own.NumField() {
			t.Fatalf("%s has %d fields, %s %d", pub, pub.NumField(), own, own.NumField())
		}
		for i := range pub.NumField() {
			if p, o := pub.Field(i), own.Field(i); p.Name != o.Name || p.Tag != o.Tag {
				t.Errorf("%s.%s `%s` against %s.%s `%s`", pub, p.Name, p.Tag, own, o.Name, o.Tag)
			}
		}
	}
}

func TestDecodeStatusReadsPythonWords(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	for word, want := range map[string]records.State{
		"retry": records.StateRetrying, "completed": records.StateCompleted, "scheduled": records.StateScheduled,
	} {
		st, err := records.DecodeStatus("j", []byte(word), at)
		if err != nil || st.State != want || st.JobID != "j" || !st.UpdatedAt.Equal(at) || st.UpdatedAt.Location() != time.UTC {
			t.Errorf("DecodeStatus(%q) = %+v, %v; want state %s at %s UTC", word, st, err, want, at)
		}
	}
	if _, err := records.DecodeStatus("j", []byte("sleeping"), at); !errors.Is(err, records.ErrForeign) {
		t.Errorf("DecodeStatus of an unknown word: %v, want ErrForeign", err)
	}
	if _, err := records.DecodeResult("j", []byte(`{"result":1}`)); !errors.Is(err, records.ErrForeign) {
		t.Errorf("DecodeResult of a record without a status: %v, want ErrForeign", err)
	}
}

func TestMerge(t *testing.T) {
	now := time.Now()
	msg := "bad"
	done := &records.Result{Status: records.StateFailed, JobID: "j", Error: &msg, Attempts: 3, FinishedAt: now}
	st := records.Merge(done, &records.Status{JobID: "j", State: records.StateRunning, MaxRetries: 5}, now)
	if st.State != records.StateFailed || st.MaxRetries != 5 || st.Attempts != 3 || st.Error != "bad" || !st.UpdatedAt.Equal(now) {
		t.Errorf("a result with a status record = %+v; want failed, 3 attempts of 5 retries, its error", st)
	}
	due := records.Merge(nil, &records.Status{State: records.StateScheduled, NextAttemptAt: now.Add(-time.Second)}, now)
	if due.State != records.StatePending {
		t.Errorf("a scheduled job past its time is %s, want pending", due.State)
	}
	later := records.Merge(nil, &records.Status{State: records.StateScheduled, NextAttemptAt: now.Add(time.Hour)}, now)
	if later.State != records.StateScheduled {
		t.Errorf("a scheduled job before its time is %s, want scheduled", later.State)
	}
	if records.Merge(nil, nil, now) != nil {
		t.Error("no records merge to a status")
	}
}

func TestDependency(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *records.Result
		st   *records.Status
		want records.Dep
	}{
		{"completed result", &records.Result{Status: records.StateCompleted}, nil, records.DepReady},
		{"failed result", &records.Result{Status: records.StateFailed}, nil, records.DepFailed},
		{"cancelled result", &records.Result{Status: records.StateCancelled}, nil, records.DepFailed},
		{"no records", nil, nil, records.DepWaiting},
		{"running", nil, &records.Status{State: records.StateRunning}, records.DepWaiting},
		{"completed, result gone", nil, &records.Status{State: records.StateCompleted}, records.DepReady},
		{"cancelled status", nil, &records.Status{State: records.StateCancelled}, records.DepFailed},
	} {
		if got := records.Dependency(c.r, c.st); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTTL(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: 7 * 24 * time.Hour, 300 * time.Millisecond: time.Second, 1600 * time.Millisecond: 2 * time.Second,
	} {
		if got := records.TTL(in); got != want {
			t.Errorf("TTL(%v) = %v, want %v", in, got, want)
		}
	}
}

// A result's times are written as encoding/json writes them, byte for
// byte, whatever their fraction, zone or year.
func TestResultTimesMatchEncodingJSON(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	times := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 100000000, time.UTC),
		time.Date(2026, 7, 4, 12, 30, 5, 120, time.UTC),
		time.Date(9999, 12, 31, 1, 2, 3, 4, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 7, 4, 12, 30, 5, 500, east),
		time.Date(2026, 7, 4, 12, 30, 5, 500, time.Local),
		time.Unix(1796312742, 977882146).UTC(),
		time.Now().UTC(),
	}
	for i := range 20000 { // spread over the years (0 to 9999) and the fractions
		sec := -62_167_219_200 + int64(i)*15_811_337_113%315_569_520_000
		times = append(times, time.Unix(sec, int64(i)*7_919_191%1_000_000_000).UTC())
	}
	for _, at := range times {
		r := records.Result{Status: records.StateCompleted, EnqueuedAt: at, StartedAt: at, FinishedAt: at}
		want, err := json.Marshal((*plainResult)(&r))
		if err != nil {
			t.Fatal(err)
		}
		if got := records.EncodeResult(&r); !bytes.Equal(got, want) {
			t.Fatalf("EncodeResult at %v:\n got %s\nwant %s", at, got, want)
		}
	}
}
