package naq

import (
	"os"
	"testing"
)

// BenchmarkDecodeJob measures the decoder on every job's path: a full job as
// Python naq writes it, a plain one as naq-go writes it, and one whose
// arguments hold non-ASCII text.
func BenchmarkDecodeJob(b *testing.B) {
	full, err := os.ReadFile("testdata/wire/job-python-full.json")
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"python-full", full},
		// As naq-go writes a job of NewJob("noop", map[string]int{"user_id": 1}).
		{"naq-go", []byte(`{"job_id":"01a23d1837427e23bc65df522fedfcdb","enqueue_time":1796321326.9149282,"function":"noop",` +
			`"args":[],"kwargs":{"user_id":1},"max_retries":0,"retry_delay":0,"queue_name":"allocs","depends_on":[],` +
			`"result_ttl":null,"timeout":null,"retry_strategy":"linear","retry_on":null,"ignore_on":null}`)},
		{"non-ascii", []byte(`{"job_id":"5f0c3e8a9b7d4c2e8f1a6b3d9c0e7f21","enqueue_time":1767225600.125,` +
			`"function":"mail:send","args":["Grüße aus Köln","日本語のテキスト"],"kwargs":{"to":"zoë@example.com"},` +
			`"queue_name":"mail","max_retries":3,"retry_delay":2}`)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeJob(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
