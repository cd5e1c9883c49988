package main

import (
	"context"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/scheduler"
)

// schedProc is a running `naq scheduler` process.
type schedProc struct {
	id     string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	killed time.Time
}

func startSchedulerProc(t *testing.T, url, id string) *schedProc {
	t.Helper()
	p := &schedProc{id: id, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(naqBin, "scheduler", "--instance-id", id) // default lock TTL and catch-up window
	p.cmd.Env = naqEnv([]string{"NAQ_NATS_URL=" + url})
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// occurrence is one enqueued occurrence, read from the stream.
type occurrence struct {
	due      int64     // Unix ms, from its id
	built    time.Time // when a scheduler made it (the job's enqueue time)
	stored   time.Time // when the server stored it
	id       string
	sequence uint64
}

// storedOccurrences reads the occurrences waiting on queue q without
// consuming them, in stream order.
func storedOccurrences(t *testing.T, ctx context.Context, s jetstream.Stream, q string) []occurrence {
	t.Helper()
	var out []occurrence
	for seq := uint64(1); ; seq++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject("naq.queue."+q))
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			return out
		}
		seq = m.Sequence
		j, err := naq.DecodeJob(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		due, err := strconv.ParseInt(j.ID[strings.LastIndexByte(j.ID, '-')+1:], 10, 64)
		if err != nil {
			t.Fatalf("occurrence id %q: %v", j.ID, err)
		}
		out = append(out, occurrence{due: due, built: j.EnqueuedAt, stored: m.Time, id: j.ID, sequence: m.Sequence})
	}
}

// TestSchedulerFailoverKill runs three `naq scheduler` processes with their
// default settings on one `naq server`, stalls the leader past its lease once,
// kills the leader with SIGKILL twice, and checks that a 1 s schedule's occurrences run each exactly once from the
// first to the last, with each failover (from the kill to the first
// occurrence the next leader enqueues) within 3 s.
func TestSchedulerFailoverKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills scheduler processes: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := startServer(t)
	if _, stderr, code := naqAt(t, url, "schedule", "add", "tick:job", "--every", "1s", "--id", "failover", "-q", "failover"); code != 0 {
		t.Fatalf("schedule add: exit %d: %s", code, stderr)
	}
	procs := map[string]*schedProc{}
	for _, id := range []string{"s1", "s2", "s3"} {
		procs[id] = startSchedulerProc(t, url, id)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for id, p := range procs {
				t.Logf("output of %s:\n%s", id, tail(p.out.String(), 3000))
			}
		}
	})

	nc, err := dialTest(t, ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// leader waits until a live process other than the killed ones holds the
	// lock, as its lock record says.
	leader := func(what string) *schedProc {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if kv, err := js.KeyValue(ctx, "naq_go_scheduler_lock"); err == nil {
				if li, err := scheduler.Leader(ctx, kv); err == nil && li != nil {
					if p := procs[li.InstanceID]; p != nil && p.killed.IsZero() {
						return p
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no live leader within 30s (%s)", what)
		return nil
	}
	var stream jetstream.Stream
	// ranAfter waits until the leader has enqueued n occurrences made after t.
	ranAfter := func(t0 time.Time, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if stream == nil {
				stream, _ = js.Stream(ctx, "naq_jobs")
			}
			if stream != nil {
				count := 0
				for _, o := range storedOccurrences(t, ctx, stream, "failover") {
					if o.built.After(t0) {
						count++
					}
				}
				if count >= n {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("fewer than %d occurrences within 30s after %s", n, t0.Format(time.RFC3339Nano))
	}

	// First a stall: the leader stops (SIGSTOP) long enough to lose its lease
	// and be replaced, then wakes still believing it leads, with ticks due.
	start := time.Now()
	ranAfter(start, 6)
	stalled := leader("before the stall")
	if err := stalled.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stalledAt := time.Now()
	for {
		stalled.killed = stalledAt // leader() skips it meanwhile
		next := leader("during the stall")
		stalled.killed = time.Time{}
		if next != stalled {
			t.Logf("stall: leader %s stopped, %s took over after %s", stalled.id, next.id, time.Since(stalledAt).Round(time.Millisecond))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ranAfter(stalledAt, 2)
	if err := stalled.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	start = time.Now()

	var kills []time.Time
	for round := 1; round <= 2; round++ {
		leader("before kill " + strconv.Itoa(round))
		ranAfter(start, 6) // the leader has been at work a while
		// Kill just after a tick the first time, well into the interval the
		// second: the gap since the dead leader's last occurrence grows by that.
		occ := storedOccurrences(t, ctx, stream, "failover")
		at := time.UnixMilli(occ[len(occ)-1].due).Add(time.Duration(round*round-1) * 200 * time.Millisecond)
		for !at.After(time.Now()) {
			at = at.Add(time.Second)
		}
		time.Sleep(time.Until(at))
		p := leader("at kill " + strconv.Itoa(round))
		p.killed = time.Now()
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.done
		kills = append(kills, p.killed)
		t.Logf("kill %d: leader %s", round, p.id)
		start = p.killed
	}
	ranAfter(start, 6)
	final := leader("after the kills")
	terms := 0
	for _, p := range procs {
		terms += strings.Count(p.out.String(), ": leading")
	}
	// Four terms: the first leader's, one after the stall and one after each
	// kill; more are step-downs under load, which must cost nothing either.
	t.Logf("leading at the end: %s; %d terms of leadership", final.id, terms)
	occ := storedOccurrences(t, ctx, stream, "failover")

	// 0 doubled, 0 missed: every 1 s tick from the first to the last, once.
	byDue := map[int64]int{}
	for _, o := range occ {
		byDue[o.due]++
	}
	var dues []int64
	for d, n := range byDue {
		dues = append(dues, d)
		if n > 1 {
			t.Errorf("occurrence due %d enqueued %d times", d, n)
		}
	}
	sort.Slice(dues, func(i, j int) bool { return dues[i] < dues[j] })
	if len(dues) == 0 {
		t.Fatal("no occurrence was enqueued")
	}
	missed := 0
	for i := 1; i < len(dues); i++ {
		if d := dues[i] - dues[i-1]; d != 1000 {
			missed += int(d/1000) - 1
			t.Errorf("between the occurrences due %d and %d: a step of %d ms", dues[i-1], dues[i], d)
		}
	}
	t.Logf("%d occurrences over %.0f s: %d missed, %d doubled", len(occ),
		float64(dues[len(dues)-1]-dues[0])/1000+1, missed, len(occ)-len(byDue))

	// Each failover: from the kill to the first occurrence the next leader
	// made; also the gap since the dead leader's last one, and how late the
	// occurrences due meanwhile were enqueued.
	for i, k := range kills {
		var before, after *occurrence
		late := time.Duration(0)
		for j := range occ {
			o := &occ[j]
			if o.built.Before(k) {
				before = o
				continue
			}
			if after == nil {
				after = o
			}
			if due := time.UnixMilli(o.due); due.Before(after.stored) || due.Equal(after.stored) {
				late = max(late, o.stored.Sub(due))
			}
		}
		if before == nil || after == nil {
			t.Fatalf("kill %d: no occurrence before or after it", i+1)
		}
		failover := after.stored.Sub(k)
		t.Logf("failover %d: %s from the kill to the next leader's first occurrence; %s since the dead leader's last; occurrences due meanwhile enqueued at most %s late",
			i+1, failover.Round(time.Millisecond), after.stored.Sub(before.stored).Round(time.Millisecond), late.Round(time.Millisecond))
		if failover > 3*time.Second {
			t.Errorf("failover %d took %s, want at most 3s", i+1, failover.Round(time.Millisecond))
		}
	}
}
