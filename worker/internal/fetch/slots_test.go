package fetch

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestSlotsWakeWaitersAndKeepCount(t *testing.T) {
	const total = 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSlots(total)
	if n, ok := s.acquire(ctx.Done(), 3, 0); !ok || n != total {
		t.Fatalf("acquire with all free: %d, %v; want every slot", n, ok)
	}
	// Two pullers wait, one for a batch and one for a single slot; slots come
	// back one at a time, as jobs finish.
	var wg sync.WaitGroup
	got := make([]int, 2)
	for i, want := range []int{5, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, ok := s.acquire(ctx.Done(), want, 0)
			if !ok {
				t.Error("acquire gave up")
			}
			got[i] = n
		}()
	}
	time.Sleep(20 * time.Millisecond)
	for range total {
		s.release(1)
		time.Sleep(2 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting puller was never woken")
	}
	free, _ := s.take(0)
	if sum := got[0] + got[1] + free; sum != total || got[0] == 0 || got[1] == 0 {
		t.Fatalf("pullers took %v and %d stayed free; want both served and %d in all", got, free, total)
	}
	// Stopping releases a waiter with nothing taken.
	stopped := make(chan bool)
	go func() { _, ok := s.acquire(ctx.Done(), 1, 0); stopped <- ok }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if ok := <-stopped; ok {
		t.Fatal("acquire succeeded with no free slot after fetching stopped")
	}
}

// Pullers with no slot get freed slots in the order they asked, ahead of one
// that asks after them: the last holder cannot take its slot straight back.
func TestSlotsServeStarvedPullersInTurn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSlots(1)
	if n, ok := s.acquire(ctx.Done(), 1, 0); !ok || n != 1 {
		t.Fatalf("acquire = %d, %v", n, ok)
	}
	served := make(chan string, 3)
	for _, name := range []string{"a", "b"} {
		go func() {
			if _, ok := s.acquire(ctx.Done(), 1, 0); ok {
				served <- name
			}
		}()
		time.Sleep(20 * time.Millisecond) // a asks first, then b
	}
	s.release(1)
	go func() { // the holder asks again at once
		if _, ok := s.acquire(ctx.Done(), 1, 0); ok {
			served <- "holder"
		}
	}()
	time.Sleep(20 * time.Millisecond)
	s.release(1)
	time.Sleep(20 * time.Millisecond)
	s.release(1)
	var order []string
	for range 3 {
		select {
		case s := <-served:
			order = append(order, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("served %v, then nobody", order)
		}
	}
	if order[0] != "a" || order[1] != "b" || order[2] != "holder" {
		t.Errorf("served in order %v, want [a b holder]", order)
	}
}
