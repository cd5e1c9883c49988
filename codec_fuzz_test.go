package naq

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeJob checks the hand-written decoder against encoding/json: it
// never panics, accepts only valid JSON that is valid UTF-8, and what it accepts survives an
// encode/decode round trip.
func FuzzDecodeJob(f *testing.F) {
	files, _ := filepath.Glob("testdata/wire/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"job_id":"a","function":"f","args":[1,"x",{"y":[true,null]}],"kwargs":{"k":"\u00e9\n"},"depends_on":"b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJob(data)
		if err != nil {
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		enc, err := j.Encode()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !json.Valid(enc) {
			t.Fatalf("encoded invalid JSON %q", enc)
		}
		j2, err := DecodeJob(enc)
		if err != nil {
			t.Fatalf("decode of own encoding %q: %v", enc, err)
		}
		j2.EnqueuedAt = j.EnqueuedAt // float seconds keep microseconds, not every nanosecond
		if diff := cmp.Diff(normalize(j), normalize(j2), cmp.AllowUnexported(Job{})); diff != "" {
			t.Fatalf("round trip changed the job (-before +after):\n%s", diff)
		}
	})
}

// normalize compacts raw arguments, which an encoder may re-space.
func normalize(j *Job) *Job {
	c := *j
	c.Args = nil
	for _, a := range j.Args {
		var v any
		_ = json.Unmarshal(a, &v)
		b, _ := json.Marshal(v)
		c.Args = append(c.Args, b)
	}
	c.Kwargs = map[string]json.RawMessage{}
	for k, a := range j.Kwargs {
		var v any
		_ = json.Unmarshal(a, &v)
		b, _ := json.Marshal(v)
		c.Kwargs[k] = b
	}
	return &c
}
