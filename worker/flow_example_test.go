package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// A worker that shares its slots 6:3:1 between three queues, runs at most 5
// jobs of "reports" at once across all workers, and lets at most 10 calls a
// second to a partner's API start across all workers.
func ExampleWithPriorities() {
	dir, _ := os.MkdirTemp("", "naq-example-")
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	nc, _ := srv.Connect()
	defer nc.Close()

	w, err := worker.New(nc,
		worker.WithPriorities(map[string]int{"critical": 6, "default": 3, "low": 1, "reports": 1}),
		worker.WithMaxRunning("reports", 5),
		worker.WithRateLimit("partner-api", 10, time.Second),
		worker.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	w.HandleFunc("partner:sync", func(ctx context.Context, job *naq.Job) (any, error) {
		return "synced", nil // ... call the partner's API ...
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { stop(); <-done }()

	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	job, err := client.Enqueue(ctx, "partner:sync", nil, naq.Queue("critical"), naq.RateKey("partner-api"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.Wait(ctx, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Config().Queues, res.Status)
	// Output: [critical default low reports] completed
}
