package naq_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/worker"
)

// A chain whose second step is a group with a callback: a site's pages are
// listed, then counted in parallel, and the callback collects the counts
// once all of them are in.
func ExampleClient_EnqueueWorkflow() {
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

	w, _ := worker.New(nc, worker.WithLogger(slog.New(slog.DiscardHandler)))
	w.Handle("site:list", worker.Typed(func(ctx context.Context, site string) ([]string, error) {
		return []string{site + "/a", site + "/b"}, nil
	}))
	w.Handle("page:count", worker.Typed(func(ctx context.Context, page string) (int, error) {
		// A step reads the result of the step before it.
		pages, err := naq.PreviousResult[[]string](ctx)
		if err != nil {
			return 0, err
		}
		return len(page) + len(pages), nil
	}))
	w.HandleFunc("report:sum", func(ctx context.Context, job *naq.Job) (any, error) {
		// The callback reads every member's result, in the group's order.
		counts, err := naq.DependencyValues[int](ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(counts), nil
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
	wf, err := client.EnqueueWorkflow(ctx, naq.Chain(
		naq.Step("site:list", "example.org"),
		naq.Group(
			naq.Step("page:count", "example.org/a"),
			naq.Step("page:count", "example.org/bb"),
		).Then(naq.Step("report:sum", nil)),
	), naq.WorkflowID("crawl-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	last := wf.Steps[len(wf.Steps)-1]
	res, err := client.Wait(ctx, last.JobID)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum string
	_ = res.Decode(&sum)
	fmt.Println(last.Path, sum)

	state, err := client.Workflow(ctx, "crawl-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	var steps []string
	for _, s := range state.Steps {
		steps = append(steps, s.Path+" "+string(s.State))
	}
	fmt.Println(state.State, strings.Join(steps, ", "))
	// Output:
	// 2.then [15 16]
	// completed 1 completed, 2.1 completed, 2.2 completed, 2.then completed
}
