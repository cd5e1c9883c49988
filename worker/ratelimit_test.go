package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/worker"
)

// A rate-limit child is a worker process of queue "rated" with the limit
// "partner": rateLimit starts per ratePeriod. It appends "<unix ns> <job id>"
// to its file when a handler starts, after a line "ready" once it runs.
const (
	rateChildEnv = "NAQ_RATETEST_CHILD"
	rateURLEnv   = "NAQ_RATETEST_URL"
	rateLimit    = 4
	ratePeriod   = time.Second
)

func rateChild() int {
	c, err := childStart(os.Getenv(rateChildEnv), os.Getenv(rateURLEnv), 20*time.Second)
	if err != nil {
		return childFail("rate", "%v", err)
	}
	defer c.close()
	fail := func(format string, args ...any) int { return childFail("rate", format, args...) }
	f, ctx, nc := c.file, c.ctx, c.nc
	w, err := worker.New(nc, worker.WithQueues("rated"), worker.WithConcurrency(4), worker.WithPollWait(200*time.Millisecond),
		worker.WithRateLimit("partner", rateLimit, ratePeriod), worker.WithLogger(testutil.Logger()))
	if err != nil {
		return fail("%v", err)
	}
	w.HandleFunc("partner:call", func(ctx context.Context, job *naq.Job) (any, error) {
		_, err := fmt.Fprintf(f, "%d %s\n", time.Now().UnixNano(), job.ID)
		return nil, err
	})
	go func() {
		select {
		case <-w.Ready():
			fmt.Fprintln(f, "ready")
		case <-ctx.Done():
		}
	}()
	if err := w.Run(ctx); err != nil {
		return fail("run: %v", err)
	}
	return 0
}

type rateStart struct {
	at time.Time
	id string
}

// rateStarts reads the starts the children recorded, and how many are ready.
func rateStarts(t *testing.T, files []string) (starts []rateStart, ready int) {
	t.Helper()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line == "ready" {
				ready++
				continue
			}
			ns, id, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(ns, 10, 64)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			starts = append(starts, rateStart{time.Unix(0, n), id})
		}
	}
	return starts, ready
}

// waitPhase waits until the current rate window is between from and to of its
// length: jobs admitted then start well inside the window the limiter counts
// them in, so a start's own clock reading tells its window.
func waitPhase(from, to float64) {
	for {
		phase := float64(time.Now().UnixNano()%int64(ratePeriod)) / float64(ratePeriod)
		if phase >= from && phase < to {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Three worker processes share a limit of 4 starts a second: counted per
// window, no window has more, through a restart of one of them; the jobs
// over the limit waited without using a retry.
func TestRateLimitAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	srv, nc := testutil.Server(t, embedded.WithListen("127.0.0.1", -1))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	spawn := func(name string) *crashProc {
		file := filepath.Join(dir, name)
		files = append(files, file)
		return startChild(t, name, rateChildEnv, file, rateURLEnv, srv.ClientURL())
	}
	procs := []*crashProc{spawn("a"), spawn("b"), spawn("c")}
	crashWaitFor(t, ctx, nil, "three workers", func() bool { _, n := rateStarts(t, files); return n == 3 })

	const n = 40
	jobs := make([]*naq.Job, n)
	for i := range jobs {
		if jobs[i], err = naq.NewJob("partner:call", naq.Args{i}, naq.Queue("rated"), naq.RateKey("partner"), naq.MaxRetries(0)); err != nil {
			t.Fatal(err)
		}
	}
	waitPhase(0.1, 0.4)
	if err := client.EnqueueMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	crashWaitFor(t, ctx, nil, "a third of the jobs", func() bool { s, _ := rateStarts(t, files); return len(s) >= n/3 })
	waitPhase(0.3, 0.5)
	procs[1].stop() // its counts stay on the server
	procs = append(procs, spawn("b2"))
	crashWaitFor(t, ctx, nil, "every job", func() bool { s, _ := rateStarts(t, files); return len(s) >= n })

	starts, _ := rateStarts(t, files)
	perWindow := map[int64]int{}
	seen := map[string]int{}
	for _, s := range starts {
		perWindow[s.at.UnixNano()/int64(ratePeriod)]++
		seen[s.id]++
	}
	for w, c := range perWindow {
		if c > rateLimit {
			t.Errorf("window %d: %d starts, the limit is %d", w, c, rateLimit)
		}
	}
	if len(perWindow) < n/rateLimit {
		t.Errorf("%d jobs started in %d windows: more than %d in one", n, len(perWindow), rateLimit)
	}
	for _, j := range jobs {
		if seen[j.ID] != 1 {
			t.Errorf("job %s started %d times, want once", j.ID, seen[j.ID])
		}
		res, err := client.Wait(ctx, j.ID)
		if err != nil || res.Status != naq.StateCompleted || res.Attempts != 1 {
			t.Errorf("job %s: %+v %v; want completed at its first attempt", j.ID, res, err)
		}
	}
	t.Logf("starts per window: %v", perWindow)
	for _, p := range procs {
		if p.name != "b" {
			p.stop()
		}
	}
}

// A limit by function applies to the jobs of that name, whatever their rate
// key, and leaves other jobs alone.
func TestFunctionRateLimit(t *testing.T) {
	e := newEnv(t)
	starts := make(chan rateStart, 64)
	handler := func(ctx context.Context, job *naq.Job) (any, error) {
		starts <- rateStart{time.Now(), job.Name}
		return nil, nil
	}
	for range 2 {
		w, _ := e.startWorker(t, func(w *worker.Worker) {
			w.HandleFunc("mail:send", handler)
			w.HandleFunc("mail:other", handler)
		}, worker.WithFunctionRateLimit("mail:send", 2, ratePeriod), worker.WithConcurrency(4))
		<-w.Ready()
	}
	var jobs []*naq.Job
	for i := range 6 {
		for _, name := range []string{"mail:send", "mail:other"} {
			j, err := naq.NewJob(name, naq.Args{i})
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
	}
	waitPhase(0.1, 0.4)
	if err := e.client.EnqueueMany(t.Context(), jobs); err != nil {
		t.Fatal(err)
	}
	perWindow := map[int64]int{}
	others := 0
	for range jobs {
		select {
		case s := <-starts:
			if s.id == "mail:send" {
				perWindow[s.at.UnixNano()/int64(ratePeriod)]++
			} else {
				others++
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("jobs did not all start: %v, %d others", perWindow, others)
		}
	}
	if len(perWindow) < 3 {
		t.Errorf("6 limited jobs started in %d windows: %v; want 2 a window", len(perWindow), perWindow)
	}
	for w, c := range perWindow {
		if c > 2 {
			t.Errorf("window %d: %d starts of mail:send, the limit is 2", w, c)
		}
	}
}
