package naq

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The hand-made encoding must read back as encoding/json's does.
func TestEventEncodingMatchesEncodingJSON(t *testing.T) {
	events := []Event{
		{Type: EventStarted, JobID: "abc", Time: time.Date(2026, 5, 1, 9, 30, 0, 250000000, time.UTC)},
		{Type: EventRetryScheduled, JobID: "j1", Time: time.Now().UTC(), WorkerID: "w-1", Queue: "q", Function: "tasks:x",
			Attempt: 2, MaxRetries: 3, DurationMS: 12.5, DelayMS: 4000, ErrorKind: "http:5xx",
			Error: "quote \" backslash \\ newline \n tab \t nul \x00 bell \x07 é ✓ \u2028 bad \xff end", Message: "retrying"},
		{Type: EventWorkerStarted, JobID: "worker:w-1", Time: time.Now(), Queues: []string{"a", "b"}},
		{Type: EventProgress, JobID: "p1", Time: time.Now(), Progress: new(0.0), Message: "starting"},
		{Type: EventProgress, JobID: "p2", Time: time.Now(), Progress: new(0.375), Message: "page 3 of 8"},
	}
	for _, e := range events {
		got := e.appendJSON(nil)
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
		var back, want Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		std, _ := json.Marshal(e)
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(back)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("read back\n%s\nwant\n%s", gb, wb)
		}
	}
}

// Strings read back as they were, whatever needs escaping and wherever it
// sits against the eight-byte words the plain prefix is found in.
func TestEventStringsReadBack(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "✓"}
	for n := range 20 {
		for _, sp := range specials {
			s := strings.Repeat("a", n) + sp + strings.Repeat("b", 19-n)
			var back string
			if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil || back != s {
				t.Errorf("%q read back as %q (%v)", s, back, err)
			}
		}
		plain := strings.Repeat("x", n)
		if got := string(appendJSONString(nil, plain)); got != `"`+plain+`"` {
			t.Errorf("%q written as %s", plain, got)
		}
	}
	bad := "job-\xff-id"
	var back string
	if err := json.Unmarshal(appendJSONString(nil, bad), &back); err != nil || back != "job-\uFFFD-id" {
		t.Errorf("%q read back as %q (%v)", bad, back, err)
	}
}
