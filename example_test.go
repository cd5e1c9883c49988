package naq_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/scheduler"
	"github.com/naqgo/naq/worker"
)

// A producer enqueues a job and waits for its result; a worker on the same
// embedded server runs it.
func ExampleClient_Enqueue() {
	dir, _ := os.MkdirTemp("", "naq-example-")
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(dir) // a JetStream server inside the process
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	nc, _ := srv.Connect() // an in-process connection
	defer nc.Close()

	w, _ := worker.New(nc, worker.WithLogger(slog.New(slog.DiscardHandler)))
	w.HandleFunc("math:add", func(ctx context.Context, job *naq.Job) (any, error) {
		var xs []int
		if err := job.Bind(&xs); err != nil {
			return nil, err
		}
		return xs[0] + xs[1], nil
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
	job, err := client.Enqueue(ctx, "math:add", naq.Args{2, 3}, naq.MaxRetries(3), naq.Timeout(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.Wait(ctx, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum int
	_ = res.Decode(&sum)
	fmt.Println(res.Status, sum)
	// Output: completed 5
}

// A delayed job is held by the NATS server until it is due, with or without a
// naq process running meanwhile.
func ExampleClient_EnqueueIn() {
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
	w.HandleFunc("mail:reminder", func(ctx context.Context, job *naq.Job) (any, error) {
		return "reminded", nil
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
	enqueued := time.Now()
	job, err := client.EnqueueIn(ctx, time.Second, "mail:reminder", naq.Kwargs{"to": "ana@example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, _ := client.Status(ctx, job.ID)
	fmt.Println("before:", st.State)
	res, err := client.Wait(ctx, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after:", res.Status, "not before its time:", !res.StartedAt.Before(enqueued.Add(time.Second)))
	// Output:
	// before: scheduled
	// after: completed not before its time: true
}

// A recurring job: the schedule is stored on the server, and a scheduler
// (run several for high availability) enqueues each occurrence as its own job.
func ExampleClient_Schedule() {
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
	quiet := slog.New(slog.DiscardHandler)

	ticks := make(chan string, 2)
	w, _ := worker.New(nc, worker.WithLogger(quiet))
	w.HandleFunc("cache:warm", func(ctx context.Context, job *naq.Job) (any, error) {
		var region string
		_ = job.Bind(&region)
		ticks <- region
		return nil, nil
	})
	sched, _ := scheduler.New(nc, scheduler.WithLogger(quiet))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- w.Run(ctx) }()
	go func() { done <- sched.Run(ctx) }()
	defer func() { stop(); <-done; <-done }()

	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := client.Schedule(ctx, "cache:warm", "eu-west", naq.Every(time.Second), naq.Repeat(2),
		naq.ScheduleID("warm-eu"), naq.WithJobOptions(naq.MaxRetries(2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("schedule", s.ID)
	for range 2 {
		fmt.Println("warmed", <-ticks)
	}
	// Output:
	// schedule warm-eu
	// warmed eu-west
	// warmed eu-west
}

// A job that fails with no retries left is kept in the failed-jobs stream,
// where it can be listed and, once the cause is fixed, requeued.
func ExampleClient_RequeueFailed() {
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

	var declined atomic.Bool
	declined.Store(true)
	w, _ := worker.New(nc, worker.WithLogger(slog.New(slog.DiscardHandler)))
	w.HandleFunc("card:charge", func(ctx context.Context, job *naq.Job) (any, error) {
		if declined.Load() {
			return nil, errors.New("card declined")
		}
		return "charged", nil
	})
	// runWorker runs the worker until the job finishes, then stops it; Run
	// returns once every record of the job is stored.
	runWorker := func(client *naq.Client, id string) (*naq.Result, error) {
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		defer func() { stop(); <-done }()
		return client.Wait(ctx, id)
	}

	ctx := context.Background()
	client, err := naq.NewClient(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	job, err := client.Enqueue(ctx, "card:charge", naq.Kwargs{"cents": 1200}, naq.MaxRetries(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := runWorker(client, job.ID) // with the failure as its error
	fmt.Println("first run:", res.Status)

	failed, err := client.ListFailed(ctx, "", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range failed {
		fmt.Printf("failed: %s after %d attempt(s): %s\n", f.Name, f.Attempts, f.Error)
	}

	declined.Store(false) // the cause, fixed
	if _, err := client.RequeueFailed(ctx, failed[0].Seq); err != nil {
		fmt.Println(err)
		return
	}
	res, err = runWorker(client, job.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	left, _ := client.ListFailed(ctx, "", 0)
	fmt.Println("requeued:", res.Status, "failed left:", len(left))
	// Output:
	// first run: failed
	// failed: card:charge after 1 attempt(s): card declined
	// requeued: completed failed left: 0
}
