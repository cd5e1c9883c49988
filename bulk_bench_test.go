package naq

import (
	"context"
	"runtime"
	"testing"

	"github.com/naqgo/naq/internal/testutil"
)

// benchArgs is a typical small job's arguments (naqbench's).
type benchArgs struct {
	UserID int64 `json:"user_id"`
}

// BenchmarkNewJob builds one job per iteration for each common kind of
// arguments, and reports the heap a built job keeps (held-B/job): what a
// caller holding a batch for EnqueueMany pays per job.
func BenchmarkNewJob(b *testing.B) {
	cases := []struct {
		name string
		args any
	}{
		{"struct", benchArgs{UserID: 4821337}},
		{"map", map[string]any{"user_id": 4821337}},
		{"Kwargs", Kwargs{"user_id": 4821337, "to": "ana"}},
		{"Args", Args{4821337, "ana"}},
		{"nil", nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewJob("bench:send_welcome_email", c.args); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(heldPerJob(b, c.args), "held-B/job")
		})
	}
}

// heldPerJob is the live heap per job of 10,000 jobs built from args.
func heldPerJob(b *testing.B, args any) float64 {
	const n = 10000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	jobs := make([]*Job, n)
	for i := range jobs {
		j, err := NewJob("bench:send_welcome_email", args)
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = j
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc) - float64(before.HeapAlloc) - float64(n*8) // less the slice
	runtime.KeepAlive(jobs)
	return held / n
}

// BenchmarkBulkEncode is EnqueueMany's client work on a batch of 1,000 jobs
// without the network: the validation pass, then each job's message as it
// is sent, each answered at once (a window of one).
func BenchmarkBulkEncode(b *testing.B) {
	c := benchClient(b)
	jobs := make([]*Job, 1000)
	for i := range jobs {
		j, err := NewJob("bench:send_welcome_email", benchArgs{UserID: int64(i)})
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = j
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.checkBulk(jobs); err != nil {
			b.Fatal(err)
		}
		p := newPipeline(jobs, false)
		for i, j := range jobs {
			s := p.slot()
			if err := p.encode(s, j, i); err != nil {
				b.Fatal(err)
			}
			p.settle(s, nil)
		}
	}
}

// BenchmarkEnqueueMany builds 50,000 jobs and enqueues them with one
// EnqueueMany call on an embedded server, as naqbench's bulk line does; run
// once under callgrind for an instruction count of the whole path:
//
//	go test -c && GOMAXPROCS=1 valgrind --tool=callgrind ./naq.test -test.run XXX -test.bench EnqueueMany -test.benchtime 1x
func BenchmarkEnqueueMany(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		jobs := make([]*Job, 50000)
		for i := range jobs {
			j, err := NewJob("bench:send_welcome_email", benchArgs{UserID: 4821337})
			if err != nil {
				b.Fatal(err)
			}
			jobs[i] = j
		}
		if err := c.EnqueueMany(ctx, jobs); err != nil {
			b.Fatal(err)
		}
	}
}

func benchClient(b *testing.B) *Client {
	_, nc := testutil.Server(b)
	c, err := NewClient(b.Context(), nc, WithLogger(testutil.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	return c
}
