package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// ResizeArgs are the arguments of an "images:resize" job.
type ResizeArgs struct {
	URL   string `json:"url"`
	Width int    `json:"width"`
}

// ResizeResult is its result.
type ResizeResult struct {
	URL string `json:"url"`
}

// A typed handler takes its arguments as a Go value and returns its result as
// one: the struct enqueued is the struct received, and the result decodes
// back into the type returned. An error wrapped by SkipRetry fails the job at
// once, whatever retries are left.
func ExampleTyped() {
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

	resize := func(ctx context.Context, a ResizeArgs) (ResizeResult, error) {
		if a.Width <= 0 {
			return ResizeResult{}, worker.SkipRetry(errors.New("width must be positive"))
		}
		return ResizeResult{URL: fmt.Sprintf("%s?w=%d", strings.TrimSuffix(a.URL, "/"), a.Width)}, nil
	}
	w, _ := worker.New(nc, worker.WithLogger(slog.New(slog.DiscardHandler)))
	w.Handle("images:resize", worker.Typed(resize))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { stop(); <-done }()

	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, args := range []ResizeArgs{{URL: "https://example.com/cat.png", Width: 320}, {URL: "https://example.com/dog.png"}} {
		job, err := client.Enqueue(ctx, "images:resize", args, naq.MaxRetries(5))
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := client.Wait(ctx, job.ID) // a failed job's result comes with its error
		if res == nil {
			fmt.Println(err)
			return
		}
		if res.Status == naq.StateFailed {
			fmt.Printf("%s after %d attempt(s): %s\n", res.Status, res.Attempts, *res.Error)
			continue
		}
		var out ResizeResult
		_ = res.Decode(&out)
		fmt.Println(res.Status, out.URL)
	}
	// Output:
	// completed https://example.com/cat.png?w=320
	// failed after 1 attempt(s): width must be positive
}
