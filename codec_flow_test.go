package naq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/naqgo/naq"
)

// The flow-control fields round-trip, are written only when set, and a bad
// one makes the job malformed.
func TestFlowControlOnTheWire(t *testing.T) {
	plain, err := naq.NewJob("x", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := plain.Encode()
	for _, f := range []string{"unique_key", "unique_scope", "rate_key"} {
		if strings.Contains(string(b), f) {
			t.Errorf("a plain job's JSON has %s: %s", f, b)
		}
	}
	if back, err := naq.DecodeJob(b); err != nil || back.Flow != nil {
		t.Errorf("plain job decoded: %+v, %v; want no flow control", back, err)
	}

	j, err := naq.NewJob("x", nil, naq.RateKey("partner-api"))
	if err != nil {
		t.Fatal(err)
	}
	j.Flow.UniqueKey, j.Flow.UniqueScope = strings.Repeat("ab", 32), naq.UniquePending
	b, _ = j.Encode()
	back, err := naq.DecodeJob(b)
	if err != nil || back.Flow == nil || back.Flow.UniqueKey != j.Flow.UniqueKey || back.Flow.UniqueScope != naq.UniquePending ||
		back.Flow.RateKey != "partner-api" {
		t.Fatalf("decoded %+v (%v) from %s", back.Flow, err, b)
	}
	for _, bad := range []string{
		`{"job_id":"a","function":"x","unique_key":"k","unique_scope":"forever"}`,
		`{"job_id":"a","function":"x","unique_key":"a.b","unique_scope":"active"}`,
		`{"job_id":"a","function":"x","unique_key":"k"}`,
		`{"job_id":"a","function":"x","rate_key":"no spaces"}`,
		`{"job_id":"a","function":"x","rate_key":5}`,
	} {
		if _, err := naq.DecodeJob([]byte(bad)); !errors.Is(err, naq.ErrMalformedJob) {
			t.Errorf("%s: %v, want ErrMalformedJob", bad, err)
		}
	}
	if _, err := naq.NewJob("x", nil, naq.RateKey("a.b")); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("rate key with a dot: %v", err)
	}
}
