package scheduler_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/internal/testutil"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/scheduler"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// A scheduler on a server where Python naq keeps its pickled schedules runs
// its own, says in one line how many of Python's it leaves alone, and never
// changes or removes them.
func TestSchedulerLeavesPythonSchedulesAlone(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "testdata", "python", "schedule-p4.pickle"))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.Repeat(2),
		naq.WithJobOptions(naq.Queue("ticks")))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(e.nc)
	kv, err := js.KeyValue(t.Context(), "naq_scheduled_jobs")
	if err != nil {
		t.Fatal(err)
	}
	revs := map[string]uint64{}
	put := func(key string) {
		rev, err := kv.Put(t.Context(), key, data)
		if err != nil {
			t.Fatal(err)
		}
		revs[key] = rev
	}
	for _, k := range []string{"5d41402abc4b2a76b9719d911017c592", "5d41402abc4b2a76b9719d911017c593", "5d41402abc4b2a76b9719d911017c594"} {
		put(k)
	}

	logs := &logBuffer{}
	nc, err := e.srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := scheduler.New(nc, scheduler.WithLockTTL(2*time.Second), scheduler.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testutil.Eventually(t, 10*time.Second, "the summary line", func() bool { return len(logs.lines("written by another naq")) > 0 })
	put("5d41402abc4b2a76b9719d911017c595") // one more, while the scheduler runs
	testutil.Eventually(t, 10*time.Second, "both occurrences of naq-go's schedule", func() bool { return len(occurrences(t, e, "ticks")) == 2 })
	testutil.Eventually(t, 5*time.Second, "naq-go's finished schedule to go", func() bool {
		_, err := e.client.GetSchedule(t.Context(), mine.ID)
		return err != nil
	})
	testutil.Eventually(t, 5*time.Second, "the line for the late one", func() bool { return len(logs.lines("written by another naq")) == 2 })

	got := logs.lines("written by another naq")
	if len(got) != 2 || !strings.Contains(got[0], "3 schedules written by another naq skipped") ||
		!strings.Contains(got[1], "1 schedule written by another naq skipped") {
		t.Errorf("log lines: %q", got)
	}
	if bad := logs.lines("unreadable schedule"); len(bad) > 0 {
		t.Errorf("a line per record: %q", bad)
	}
	if ids := occurrences(t, e, "reports"); len(ids) != 0 {
		t.Errorf("Python's schedules ran: %v", ids)
	}
	for k, rev := range revs {
		en, err := kv.Get(t.Context(), k)
		if err != nil || en.Revision() != rev || !bytes.Equal(en.Value(), data) {
			t.Errorf("Python schedule %s changed or gone: %v", k, err)
		}
	}
}
