package fetch

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The backlog a queue asks slots for comes from the ack subject, in its
// short and long forms.
func TestPendingOf(t *testing.T) {
	for reply, want := range map[string]int{
		"$JS.ACK.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.9":                 9,
		"$JS.ACK._.ACCHASH.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.12.rand": 12,
		"$JS.ACK.hub.ACCHASH.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.0":     0,
		"_INBOX.x": 0,
	} {
		if got := pendingOf(reply); got != want {
			t.Errorf("pendingOf(%q) = %d, want %d", reply, got, want)
		}
	}
}

// A job that arrived without a slot takes its turn with the pullers waiting
// for one, in order; the slot of the job before it passes straight to it;
// once fetching stops, a waiting job comes out to be put back, and later
// ones are refused.
func TestSlotsHandJobsThatArrivedTheirTurn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSlots(1)
	started := make(chan *Msg, 4)
	s.start = func(jobs []*Msg) {
		for _, j := range jobs {
			started <- j
			s.jobs.Done()
		}
	}
	first := &Msg{m: &nats.Msg{Subject: "first"}}
	if run, _ := s.admitJob(first, 0); !run {
		t.Fatal("a job found the free slot taken")
	}
	puller := make(chan bool, 1)
	go func() { _, ok := s.acquire(ctx.Done(), 1, 1); puller <- ok }()
	time.Sleep(20 * time.Millisecond) // the puller waits first
	second := &Msg{m: &nats.Msg{Subject: "second"}}
	if run, queued := s.admitJob(second, 2); run || !queued {
		t.Fatalf("with no slot free: run %v, queued %v; want it to wait", run, queued)
	}
	if next := s.handOff(); next != nil {
		t.Fatalf("the slot went to %s ahead of the puller that asked first", next.m.Subject)
	}
	select {
	case ok := <-puller:
		if !ok {
			t.Fatal("the puller gave up")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the puller was not handed the slot")
	}
	s.release(1) // the puller's request ended empty
	select {
	case j := <-started:
		if j != second {
			t.Fatalf("started %s", j.m.Subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting job was not started")
	}
	third := &Msg{m: &nats.Msg{Subject: "third"}}
	if run, queued := s.admitJob(third, 0); run || !queued {
		t.Fatal("a job took a slot that a running job holds")
	}
	if back := s.closeJobs(); len(back) != 1 || back[0] != third {
		t.Fatalf("closing gave back %d jobs", len(back))
	}
	if next := s.handOff(); next != nil {
		t.Fatal("a job given back was still handed a slot")
	}
	if run, queued := s.admitJob(&Msg{m: &nats.Msg{}}, 0); run || queued {
		t.Fatal("a job was admitted after fetching stopped")
	}
}
