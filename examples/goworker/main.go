// Goworker is a standalone worker process: it connects to the NATS server at
// NAQ_NATS_URL, runs "tasks:count_words" jobs from NAQ_DEFAULT_QUEUE (or
// naq_default_queue) and stops gracefully on SIGINT or SIGTERM. It is the Go
// way to be a worker; `naq worker --target URL` is the way for services in
// any language that answer HTTP.
//
//	naq server &                                 # or any NATS server with JetStream
//	go run ./examples/goworker &
//	naq enqueue tasks:count_words --kwargs '{"text": "the quick brown fox"}' --wait
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// CountArgs are the job's keyword arguments.
type CountArgs struct {
	Text string `json:"text"`
}

// CountResult is its result.
type CountResult struct {
	Words int `json:"words"`
}

func countWords(ctx context.Context, args CountArgs) (CountResult, error) {
	if job := naq.JobFromContext(ctx); job != nil && job.Attempt > 1 {
		log.Printf("job %s: attempt %d", job.ID, job.Attempt)
	}
	return CountResult{Words: len(strings.Fields(args.Text))}, nil
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	nc, err := naq.Dial(dialCtx) // NAQ_NATS_URL, NAQ_NATS_* credentials, NAQ_TLS_*; reconnects forever once connected
	cancel()
	if err != nil {
		return err
	}
	defer nc.Close()

	w, err := worker.New(nc, worker.WithConcurrency(8), worker.WithName("goworker"))
	if err != nil {
		return err
	}
	w.Handle("tasks:count_words", worker.Typed(countWords))
	fmt.Fprintln(os.Stderr, "goworker: running tasks:count_words; Ctrl-C to stop")
	return w.Run(ctx) // returns after a graceful shutdown
}
