package worker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// ctxSeen checks what a handler's context carries: its own job, the
// message's headers only when asked for, and a timeout as the cause.
func ctxSeen(ctx context.Context, j *naq.Job, wantHeader bool) error {
	if got := naq.JobFromContext(ctx); got != j {
		return fmt.Errorf("JobFromContext: %p, want the handler's job %p", got, j)
	}
	if h := worker.MessageHeader(ctx); (h != nil) != wantHeader {
		return fmt.Errorf("MessageHeader %v, want one: %v", h, wantHeader)
	}
	if j.Timeout > 0 {
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) || naq.JobFromContext(ctx) != j {
			return fmt.Errorf("after the timeout: cause %v, job %v", context.Cause(ctx), naq.JobFromContext(ctx))
		}
	}
	return nil
}

func TestHandlerContextCarriesItsJob(t *testing.T) {
	for _, headers := range []bool{false, true} {
		t.Run(fmt.Sprint("headers=", headers), func(t *testing.T) {
			e := newEnv(t)
			var opts []worker.Option
			if headers {
				opts = append(opts, worker.WithMessageHeaders())
			}
			e.startWorker(t, func(w *worker.Worker) {
				w.HandleFunc("look", func(ctx context.Context, j *naq.Job) (any, error) {
					if err := ctxSeen(ctx, j, headers); err != nil {
						return nil, worker.SkipRetry(err)
					}
					return j.ID, nil
				})
			}, append(opts, worker.WithConcurrency(4))...)
			var jobs []*naq.Job
			for i := range 6 {
				var o []naq.EnqueueOption
				if i%3 == 0 {
					o = append(o, naq.Timeout(100*time.Millisecond))
				}
				j, err := e.client.Enqueue(t.Context(), "look", i, o...)
				if err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, j)
			}
			for i, j := range jobs {
				res := e.wait(t, j.ID)
				var id string
				if i%3 == 0 { // timed out after the checks passed
					if res.ErrorKind != worker.KindTimeout {
						t.Errorf("job %d: %+v (%s)", i, res, deref(res.Error))
					}
					continue
				}
				if err := res.Decode(&id); err != nil || id != j.ID {
					t.Errorf("job %d: %q %v (%s)", i, id, err, deref(res.Error))
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
