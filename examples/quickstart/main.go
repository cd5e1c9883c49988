// Quickstart: an embedded NATS server, a worker and a few jobs, with their
// results printed. Run it with: go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// CountArgs are the arguments of the "tasks:count_words" job.
type CountArgs struct {
	Text string `json:"text"`
}

// CountResult is its result.
type CountResult struct {
	Words int `json:"words"`
}

func countWords(ctx context.Context, args CountArgs) (CountResult, error) {
	return CountResult{Words: len(strings.Fields(args.Text))}, nil
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	// Ctrl-C or SIGTERM ends ctx, and with it the worker, gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	dir, err := os.MkdirTemp("", "naq-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(dir)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()

	// The worker: one typed handler, four jobs at a time.
	w, err := worker.New(nc, worker.WithConcurrency(4), worker.WithLogger(logger))
	if err != nil {
		return err
	}
	w.Handle("tasks:count_words", worker.Typed(countWords))
	workerCtx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	done := make(chan error, 1)
	go func() { done <- w.Run(workerCtx) }()

	// The producer: enqueue a few jobs, then wait for each result.
	client, err := naq.NewClient(ctx, nc, naq.WithLogger(logger))
	if err != nil {
		return err
	}
	texts := []string{"the quick brown fox", "jumps over", "the lazy dog, twice over"}
	var ids []string
	for _, t := range texts {
		job, err := client.Enqueue(ctx, "tasks:count_words", CountArgs{Text: t})
		if err != nil {
			return err
		}
		ids = append(ids, job.ID)
	}
	for i, id := range ids {
		res, err := client.Wait(ctx, id)
		if err != nil {
			return err
		}
		var out CountResult
		if err := res.Decode(&out); err != nil {
			return err
		}
		fmt.Printf("job %s: %q has %d words (attempts: %d)\n", id, texts[i], out.Words, res.Attempts)
	}
	stopWorker()
	return <-done
}
