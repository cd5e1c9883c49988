// Package workertest runs workers in tests.
package workertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/naqgo/naq/worker"
)

// Run runs w until the test ends or stop is called, once it is ready
// (it fails the test if it is not ready within 30 s), and checks that Run
// returned nil. stop may be called more than once.
func Run(t testing.TB, w *worker.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("worker Run: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Error("worker did not stop within 60 s")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-w.Ready():
	case err := <-done:
		once.Do(cancel)
		t.Fatalf("worker stopped before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("worker not ready within 30 s")
	}
	return stop
}
