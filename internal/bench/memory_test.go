package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// Every memory line is measured in a child process of its own, beside its
// raw baseline, and shows in the table. It makes no claim about sizes
// beyond their being measured.
func TestRunMeasuresMemoryInChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("ten child processes: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := Run(ctx, Config{Jobs: 300, Concurrency: 20, Rounds: 1, Dir: t.TempDir(), Executable: os.Args[0]}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if len(rep.Memory) != len(memoryDefs) {
		t.Fatalf("%d memory lines, want %d", len(rep.Memory), len(memoryDefs))
	}
	for _, l := range rep.Memory {
		if l.RSS <= 0 || l.RawRSS <= 0 || l.Heap <= 0 || l.RawHeap <= 0 || l.Ratio <= 0 {
			t.Errorf("%s: RSS %d, raw RSS %d, heap %d, raw heap %d, ratio %v", l.Name, l.RSS, l.RawRSS, l.Heap, l.RawHeap, l.Ratio)
		}
		if !strings.Contains(out.String(), l.Name) {
			t.Errorf("table lacks memory line %s", l.Name)
		}
	}
	if !strings.Contains(out.String(), "peak RSS MB") {
		t.Errorf("no memory table in:\n%s", out.String())
	}
}

// The scale scenario's parts each run in a child process and come back with
// every job handled: the workers' shares add up to the jobs they shared, and
// every timed job on a random queue started.
func TestRunScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("child processes and several thousand jobs: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cfg := ScaleConfig{Jobs: 3000, BaseJobs: 1000, Queues: 5, Workers: 3, WorkersJobs: 1500, Concurrency: 20,
		Idle: time.Second, Samples: 5, Dir: t.TempDir(), Executable: os.Args[0]}
	rep, err := RunScale(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("RunScale: %v\n%s", err, out.String())
	}
	var sum int64
	for _, s := range rep.Shares {
		sum += s
	}
	if len(rep.Shares) != 3 || sum != 1500 {
		t.Errorf("shares %v, want 3 adding up to 1500", rep.Shares)
	}
	if rep.ServerResultsMsg != 3000 {
		t.Errorf("%d results stored after the large run, want 3000", rep.ServerResultsMsg)
	}
	if rep.Rate <= 0 || rep.BaseRate <= 0 || rep.WorkerRSSEarly <= 0 || rep.WorkerRSSEnd <= 0 || rep.DiskBytesPerJob <= 0 {
		t.Errorf("report lacks figures: %+v", rep)
	}
	if len(rep.QueuesRuns) != 2 {
		t.Fatalf("%d runs on many queues, want 2", len(rep.QueuesRuns))
	}
	for _, q := range rep.QueuesRuns {
		if q.LatencyMax <= 0 {
			t.Errorf("no start latency measured at concurrency %d", q.Concurrency)
		}
	}
}
