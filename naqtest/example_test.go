package naqtest_test

import (
	"context"
	"testing"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/naqtest"
	"github.com/naqgo/naq/worker"
)

// WelcomeArgs are the arguments of the "mail:welcome" job.
type WelcomeArgs struct {
	To string `json:"to"`
}

// signUp is the code under test: it enqueues a welcome mail.
func signUp(ctx context.Context, c *naq.Client, email string) error {
	_, err := c.Enqueue(ctx, "mail:welcome", WelcomeArgs{To: email}, naq.Queue("mail"), naq.MaxRetries(3))
	return err
}

// sendWelcome is the handler of "mail:welcome".
func sendWelcome(ctx context.Context, a WelcomeArgs) (string, error) {
	return "sent to " + a.To, nil
}

// testSignUp is a test of signUp, as it would be written in a _test.go file
// as TestSignUp(t *testing.T): that sign-up enqueues the mail, then that the
// mail's handler completes it.
func testSignUp(t *testing.T) {
	env := naqtest.New(t, naqtest.WithWorkerOptions(worker.WithQueues("mail")))
	env.Worker.Handle("mail:welcome", worker.Typed(sendWelcome))

	if err := signUp(t.Context(), env.Client, "ana@example.com"); err != nil {
		t.Fatal(err)
	}
	naqtest.RequireEnqueued(t, env.Client, "mail:welcome", &naqtest.Match{
		Queue: "mail",
		Args:  WelcomeArgs{To: "ana@example.com"},
	})

	results := env.RunQueued(t.Context())
	if len(results) != 1 || results[0].Status != naq.StateCompleted {
		t.Fatalf("results: %+v", results)
	}
	var got string
	if err := results[0].Decode(&got); err != nil || got != "sent to ana@example.com" {
		t.Fatalf("result %q, %v", got, err)
	}
	naqtest.RequireNotEnqueued(t, env.Client, "mail:welcome", nil)
}

// Testing code that enqueues jobs: the whole file is the example. testSignUp
// runs as TestSignUpExample in naqtest_test.go.
func Example() {}
