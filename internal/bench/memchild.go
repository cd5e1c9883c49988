package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/metrics"
	"sync"
	"time"
)

// RunChild runs one memory child: args are what follows ChildArg (the
// scenario, then -jobs, -concurrency and -dir or -url). It connects to the
// store its parent filled, runs the scenario once and writes a childReport
// as JSON to out. The parent reads the process's peak resident memory.
func RunChild(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s needs a scenario", ChildArg)
	}
	name := args[0]
	sc, ok := childScenarios[name]
	if !ok {
		return fmt.Errorf("%s: no scenario %q", ChildArg, name)
	}
	var cfg Config
	fs := flag.NewFlagSet(ChildArg, flag.ContinueOnError)
	fs.IntVar(&cfg.Jobs, "jobs", 0, "")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "")
	fs.StringVar(&cfg.Dir, "dir", "", "")
	fs.StringVar(&cfg.URL, "url", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	conns, _, closeAll, err := connect(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer closeAll()
	e, err := newEnv(ctx, cfg, conns[0], conns[1], conns[2])
	if err != nil {
		return err
	}
	// Message ids of the floors stay clear of any a server of -url still
	// remembers from the rounds.
	e.floorRuns = int(time.Now().UnixNano() % 1e9)
	peak := sampleHeap()
	allocStart := readMetric(allocMetric)
	r, err := sc.run(e, ctx)
	allocs := readMetric(allocMetric) - allocStart
	heap := peak()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return json.NewEncoder(out).Encode(childReport{
		Scenario: name, Seconds: r.d.Seconds(), Heap: int64(heap), Alloc: float64(allocs) / float64(cfg.Jobs), RSS: ownPeakRSS(),
	})
}

const (
	heapMetric  = "/memory/classes/heap/objects:bytes"
	allocMetric = "/gc/heap/allocs:bytes"
)

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// sampleHeap samples the heap's objects every 5 ms (runtime/metrics does not
// stop the world) until the returned function is called, which returns the
// peak.
func sampleHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	look := func() {
		v := readMetric(heapMetric)
		mu.Lock()
		peak = max(peak, v)
		mu.Unlock()
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			look()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(stop)
		wg.Wait()
		look()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
