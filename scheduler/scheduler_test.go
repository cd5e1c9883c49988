package scheduler_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/scheduler"
)

type env struct {
	srv    *embedded.Server
	nc     *nats.Conn
	client *naq.Client
}

func newEnv(t *testing.T) *env {
	srv, nc := testutil.Server(t)
	c, err := naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, nc: nc, client: c}
}

// instance is one scheduler on its own connection, as a separate process has.
type instance struct {
	once   sync.Once
	s      *scheduler.Scheduler
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(t *testing.T, name string, ttl time.Duration, hook func(string, bool), opts ...scheduler.Option) *instance {
	t.Helper()
	nc, err := e.srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]scheduler.Option{scheduler.WithInstanceID(name), scheduler.WithLockTTL(ttl), scheduler.WithLogger(testutil.Logger()),
		scheduler.WithLeaderHook(func(on bool) {
			if hook != nil {
				hook(name, on)
			}
		})}, opts...)
	s, err := scheduler.New(nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{s: s, nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- s.Run(ctx) }()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.once.Do(func() {
		in.cancel()
		<-in.done
		in.nc.Close()
	})
}

// occurrences lists the job ids waiting on queue q (no worker runs here).
func occurrences(t *testing.T, e *env, q string) []string {
	t.Helper()
	js, _ := jetstream.New(e.nc)
	s, err := js.Stream(t.Context(), "naq_jobs")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := uint64(1); ; seq++ {
		m, err := s.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject("naq.queue."+q))
		if err != nil {
			break
		}
		seq = m.Sequence
		j, err := naq.DecodeJob(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

func TestBadScheduleInput(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	cases := map[string][]naq.ScheduleOption{
		"invalid cron expression":               {naq.Cron("not cron")},
		"not both":                              {naq.Cron("* * * * *"), naq.Every(time.Minute)},
		"give a cron expression or an interval": nil,
		"below the minimum":                     {naq.Every(100 * time.Millisecond)},
		"unknown time zone":                     {naq.Cron("0 9 * * *"), naq.InZone("Nowhere/Town")},
		"below one":                             {naq.Every(time.Minute), naq.Repeat(0)},
		"never fires":                           {naq.Cron("0 0 30 2 *")},
		"at most 184":                           {naq.Every(time.Minute), naq.ScheduleID(strings.Repeat("s", naq.MaxScheduleIDLen+1))},
	}
	for want, opts := range cases {
		_, err := e.client.Schedule(ctx, "x", nil, opts...)
		if !errors.Is(err, naq.ErrInvalidSchedule) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v", want, err)
		}
	}
	if _, err := e.client.PauseSchedule(ctx, "no-such-schedule"); !errors.Is(err, naq.ErrScheduleNotFound) {
		t.Errorf("pause missing: %v", err)
	}
	if l, err := e.client.ListSchedules(ctx); err != nil || len(l) != 0 {
		t.Errorf("nothing should have been stored: %v %v", l, err)
	}
}

func TestIntervalWithRepeatRunsExactlyNTimes(t *testing.T) {
	e := newEnv(t)
	s, err := e.client.Schedule(t.Context(), "tick", naq.Kwargs{"n": 1}, naq.Every(time.Second), naq.Repeat(3),
		naq.ScheduleID("three-ticks"), naq.WithJobOptions(naq.Queue("ticks"), naq.MaxRetries(2)))
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, "solo", 2*time.Second, nil)
	testutil.Eventually(t, 10*time.Second, "three occurrences", func() bool { return len(occurrences(t, e, "ticks")) == 3 })
	testutil.Eventually(t, 5*time.Second, "the finished schedule to go", func() bool {
		_, err := e.client.GetSchedule(t.Context(), s.ID)
		return errors.Is(err, naq.ErrScheduleNotFound)
	})
	time.Sleep(1500 * time.Millisecond)
	ids := occurrences(t, e, "ticks")
	if len(ids) != 3 {
		t.Fatalf("%d occurrences: %v", len(ids), ids)
	}
	// Every occurrence is its own job, derived from the schedule and due time.
	first := s.NextRun
	for i, id := range ids {
		if want := s.OccurrenceID(first.Add(time.Duration(i) * time.Second)); id != want {
			t.Fatalf("occurrence %d: %s, want %s", i, id, want)
		}
	}
}

func TestPauseAndResume(t *testing.T) {
	e := newEnv(t)
	s, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.WithJobOptions(naq.Queue("pr")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PauseSchedule(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	e.start(t, "solo", 2*time.Second, nil)
	time.Sleep(2500 * time.Millisecond)
	if n := len(occurrences(t, e, "pr")); n != 0 {
		t.Fatalf("paused schedule ran %d times", n)
	}
	got, _ := e.client.GetSchedule(t.Context(), s.ID)
	if got.State != naq.SchedulePaused {
		t.Fatalf("state %s", got.State)
	}
	if _, err := e.client.ResumeSchedule(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "runs after resume", func() bool { return len(occurrences(t, e, "pr")) >= 2 })
	if _, err := e.client.CancelSchedule(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	n := len(occurrences(t, e, "pr"))
	time.Sleep(1500 * time.Millisecond)
	if m := len(occurrences(t, e, "pr")); m != n {
		t.Fatalf("cancelled schedule ran again (%d -> %d)", n, m)
	}
}

// Three schedulers race over many schedules: one leads at a time, and every
// occurrence is enqueued exactly once, with no tick missed.
func TestThreeSchedulersEnqueueEachOccurrenceOnce(t *testing.T) {
	e := newEnv(t)
	const schedules = 20
	for i := range schedules {
		if _, err := e.client.Schedule(t.Context(), "tick", i, naq.Every(time.Second), naq.ScheduleID("race-"+strconv.Itoa(i)),
			naq.WithJobOptions(naq.Queue("race"))); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	leaders, maxLeaders := 0, 0
	hook := func(name string, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			leaders++
		} else {
			leaders--
		}
		maxLeaders = max(maxLeaders, leaders)
	}
	// ticks groups the occurrences enqueued so far by schedule, each
	// schedule's in order.
	ticks := func() map[string][]int64 {
		per := map[string][]int64{}
		for _, id := range occurrences(t, e, "race") {
			i := strings.LastIndexByte(id, '-')
			ms, err := strconv.ParseInt(id[i+1:], 10, 64)
			if err != nil {
				t.Fatal(id)
			}
			per[id[:i]] = append(per[id[:i]], ms)
		}
		for _, ts := range per {
			slices.Sort(ts)
		}
		return per
	}
	// everyOne waits until every schedule has at least n occurrences: the
	// conditions, not the clock, pace the test, so a loaded machine only
	// makes it slower.
	everyOne := func(n int, what string) {
		testutil.Eventually(t, time.Minute, what, func() bool {
			per := ticks()
			if len(per) < schedules {
				return false
			}
			for _, ts := range per {
				if len(ts) < n {
					return false
				}
			}
			return true
		})
	}
	var ins []*instance
	for i := range 3 {
		ins = append(ins, e.start(t, "s"+strconv.Itoa(i), 2*time.Second, hook))
	}
	everyOne(2, "two occurrences of every schedule")
	// Stop the leader cleanly: another takes over.
	for _, in := range ins {
		if in.s.Leading() {
			in.stop()
			break
		}
	}
	before := ticks()
	testutil.Eventually(t, time.Minute, "two more occurrences of every schedule after the handover", func() bool {
		for sid, ts := range ticks() {
			if len(ts) < len(before[sid])+2 {
				return false
			}
		}
		return true
	})
	for _, in := range ins {
		in.cancel()
	}
	for _, in := range ins {
		in.stop()
	}
	per := ticks()
	if len(per) != schedules {
		t.Fatalf("%d schedules ran, want %d", len(per), schedules)
	}
	ids := 0
	for sid, ts := range per {
		ids += len(ts)
		for i := 1; i < len(ts); i++ {
			if d := ts[i] - ts[i-1]; d != 1000 {
				t.Fatalf("%s: ticks %v: step %d ms (a duplicate or a gap)", sid, ts, d)
			}
		}
	}
	if maxLeaders != 1 {
		t.Fatalf("%d schedulers led at once", maxLeaders)
	}
	t.Logf("%d occurrences over %d schedules", ids, schedules)
}

// A leader that dies without releasing its lease is replaced once the lease
// expires; one that stops cleanly, at once.
func TestFailover(t *testing.T) {
	e := newEnv(t)
	const ttl = 2 * time.Second
	var becameLeader sync.Map
	hook := func(name string, on bool) {
		if on {
			becameLeader.Store(name, time.Now())
		}
	}
	a := e.start(t, "a", ttl, hook)
	testutil.Eventually(t, 5*time.Second, "a to lead", a.s.Leading)
	b := e.start(t, "b", ttl, hook)

	// Clean stop: b leads within a second.
	stopped := time.Now()
	a.stop()
	testutil.Eventually(t, 5*time.Second, "b to lead", b.s.Leading)
	v, _ := becameLeader.Load("b")
	clean := v.(time.Time).Sub(stopped)
	t.Logf("takeover after a clean stop: %s", clean)
	if clean > 2*time.Second {
		t.Errorf("takeover after a clean stop took %s", clean)
	}

	// Crash: b's connection dies without a release; c takes over after the TTL.
	c := e.start(t, "c", ttl, hook)
	var crashed atomic.Bool
	crashAt := time.Now()
	b.nc.Close()
	crashed.Store(true)
	testutil.Eventually(t, 3*ttl, "c to lead", c.s.Leading)
	v, _ = becameLeader.Load("c")
	crash := v.(time.Time).Sub(crashAt)
	t.Logf("takeover after a crash: %s (lock TTL %s)", crash, ttl)
	if crash > ttl+2*time.Second {
		t.Errorf("takeover after a crash took %s", crash)
	}
}

// The longest schedule id naq accepts still gives every occurrence a valid id.
func TestLongestScheduleIDRuns(t *testing.T) {
	e := newEnv(t)
	id := strings.Repeat("x", naq.MaxScheduleIDLen)
	if _, err := e.client.Schedule(t.Context(), "tick", nil, naq.Every(time.Second), naq.Repeat(1), naq.ScheduleID(id),
		naq.WithJobOptions(naq.Queue("long"))); err != nil {
		t.Fatal(err)
	}
	e.start(t, "solo", 2*time.Second, nil)
	testutil.Eventually(t, 10*time.Second, "the occurrence", func() bool { return len(occurrences(t, e, "long")) == 1 })
	if got := occurrences(t, e, "long")[0]; !strings.HasPrefix(got, id+"-") || len(got) > 200 {
		t.Fatalf("occurrence id %q (%d characters)", got, len(got))
	}
}
