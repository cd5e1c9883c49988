package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

// A worker with WithResultArgs keeps each job's arguments in its result,
// completed or failed; one without keeps none; arguments that would not fit
// beside a large result are left out, and the result is stored all the same.
func TestResultArgs(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 600<<10)
	register := func(w *worker.Worker) {
		w.HandleFunc("echo", func(context.Context, *naq.Job) (any, error) { return "done", nil })
		w.HandleFunc("big", func(context.Context, *naq.Job) (any, error) { return big, nil })
		w.HandleFunc("fail", func(context.Context, *naq.Job) (any, error) { return nil, worker.SkipRetry(errors.New("boom")) })
	}
	_, stop := e.startWorker(t, register, worker.WithResultArgs())
	ctx := t.Context()
	kept, err := e.client.Enqueue(ctx, "echo", naq.Args{7, "<script>"})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := e.client.Enqueue(ctx, "fail", naq.Kwargs{"user": map[string]int{"id": 3}})
	if err != nil {
		t.Fatal(err)
	}
	large, err := e.client.Enqueue(ctx, "big", naq.Kwargs{"blob": big})
	if err != nil {
		t.Fatal(err)
	}
	res := e.wait(t, kept.ID)
	if !argsEqual(res.Args, `7`, `"<script>"`) || res.Kwargs != nil {
		t.Errorf("completed job's args: %s, kwargs %v", res.Args, res.Kwargs)
	}
	res = e.wait(t, failed.ID)
	if res.Status != naq.StateFailed || string(res.Kwargs["user"]) != `{"id":3}` {
		t.Errorf("failed job's result: %+v", res)
	}
	res = e.wait(t, large.ID)
	if res.Status != naq.StateCompleted || res.Kwargs != nil || res.Args != nil {
		t.Errorf("a result too large to keep its args beside it: status %s, %d kwargs", res.Status, len(res.Kwargs))
	}
	stop()

	e.startWorker(t, register)
	plain, err := e.client.Enqueue(ctx, "echo", naq.Args{8})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.wait(t, plain.ID); res.Args != nil || res.Kwargs != nil {
		t.Errorf("a worker without the option kept args: %+v", res)
	}
}

func argsEqual(got []json.RawMessage, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		var a, b any
		if json.Unmarshal(got[i], &a) != nil || json.Unmarshal([]byte(want[i]), &b) != nil || !cmp.Equal(a, b) {
			return false
		}
	}
	return true
}
