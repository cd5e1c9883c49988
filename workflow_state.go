package naq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/naqgo/naq/internal/layout"
)

// Workflow returns workflow id's record with each step's state, read from
// the step's status and result records, and the workflow's state (see
// Workflow.State). ErrWorkflowNotFound means no record of it.
func (c *Client) Workflow(ctx context.Context, id string) (*Workflow, error) {
	if err := layout.ValidateJobID(id); err != nil {
		return nil, fmt.Errorf("%w: workflow id: %v", ErrInvalidJob, err)
	}
	kv, err := c.workflowsBucket(ctx)
	if err != nil {
		return nil, err
	}
	e, err := kv.Get(ctx, id)
	if err != nil {
		if layout.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s", ErrWorkflowNotFound, id)
		}
		return nil, fmt.Errorf("naq: workflow %s: %w", id, err)
	}
	wf := new(Workflow)
	if err := json.Unmarshal(e.Value(), wf); err != nil {
		return nil, fmt.Errorf("naq: workflow %s: unreadable record: %w", id, err)
	}
	if err := c.stepStates(ctx, wf.Steps); err != nil {
		return nil, fmt.Errorf("naq: workflow %s: %w", id, err)
	}
	wf.State = workflowState(wf.Steps)
	return wf, nil
}

// stepStates fills in each step's state, reading a few at a time: a large
// workflow's steps are many small reads.
func (c *Client) stepStates(ctx context.Context, steps []WorkflowStep) error {
	return readEach(len(steps), func(i int) error { return c.stepState(ctx, &steps[i]) })
}

// readEach runs read(i) for i in [0, n), a few at a time, and returns the
// first error.
func readEach(n int, read func(i int) error) error {
	const readers = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range min(readers, n) {
		wg.Go(func() {
			for i := range next {
				if err := read(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func (c *Client) stepState(ctx context.Context, s *WorkflowStep) error {
	st, err := c.Status(ctx, s.JobID)
	if errors.Is(err, ErrJobNotFound) {
		s.State = StatePending // in its queue; no worker has taken it yet
		return nil
	}
	if err != nil {
		return fmt.Errorf("step %s: %w", s.Path, err)
	}
	s.State, s.Error, s.Attempts, s.StartedAt, s.FinishedAt = st.State, st.Error, st.Attempts, st.StartedAt, st.FinishedAt
	return nil
}

// workflowState sums up the steps' states.
func workflowState(steps []WorkflowStep) State {
	var done, failed, started int
	for _, s := range steps {
		switch s.State {
		case StateCompleted:
			done++
		case StateFailed, StateCancelled:
			done++
			failed++
		case StateRunning, StateRetrying:
			started++
		}
	}
	switch {
	case done == len(steps) && failed == 0:
		return StateCompleted
	case done == len(steps):
		return StateFailed
	case done > 0 || started > 0:
		return StateRunning
	}
	return StatePending
}
