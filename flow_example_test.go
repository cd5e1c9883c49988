package naq_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// exampleServer starts an embedded server and returns a connection to it and
// the teardown.
func exampleServer() (*nats.Conn, func(), error) {
	dir, _ := os.MkdirTemp("", "naq-example-")
	srv, err := embedded.Start(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return nc, func() { nc.Close(); srv.Shutdown(); os.RemoveAll(dir) }, nil
}

// A unique job is enqueued once while it is pending or running: the second
// enqueue stores nothing and returns the job already queued.
func ExampleUnique() {
	nc, done, err := exampleServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx := context.Background()
	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	first, err := client.Enqueue(ctx, "report:build", naq.Kwargs{"day": "2026-12-03"}, naq.Unique())
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := client.Enqueue(ctx, "report:build", naq.Kwargs{"day": "2026-12-03"}, naq.Unique())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(first.Duplicate, again.Duplicate, again.ID == first.ID)
	// Output: false true true
}

// A handler reports its progress; Status shows the last report while the
// job runs.
func ExampleProgress() {
	nc, done, err := exampleServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	reported, finish := make(chan struct{}), make(chan struct{})
	w, _ := worker.New(nc, worker.WithLogger(slog.New(slog.DiscardHandler)))
	w.HandleFunc("pages:import", func(ctx context.Context, job *naq.Job) (any, error) {
		for page := 1; page <= 40; page++ {
			// ... import the page ...
			if err := naq.Progress(ctx, float64(page)/100, fmt.Sprintf("page %d of 100", page)); err != nil {
				return nil, err
			}
		}
		close(reported)
		<-finish
		return nil, nil
	})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() { stop(); <-ran }()

	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	job, err := client.Enqueue(ctx, "pages:import", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-reported
	defer close(finish)
	// The last report is written within a second of the one before it.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := client.Status(ctx, job.ID)
		if err == nil && st.Progress != nil && st.Progress.Fraction == 0.4 {
			fmt.Println(st.State, st.Progress.Message)
			return
		}
	}
	fmt.Println("no progress seen")
	// Output: running page 40 of 100
}
