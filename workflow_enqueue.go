package naq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

var (
	// ErrWorkflowExists: a workflow with this id was already enqueued.
	ErrWorkflowExists = errors.New("naq: workflow already exists")
	// ErrWorkflowNotFound: no record of the workflow (never enqueued, or
	// expired with its results).
	ErrWorkflowNotFound = errors.New("naq: workflow not found")
)

// Workflow is a workflow's record: its steps in the order they were given,
// each with the job that runs it. Client.Workflow fills in each step's state
// and the workflow's.
type Workflow struct {
	ID        string    `json:"workflow_id"`
	CreatedAt time.Time `json:"created_at"`
	// Enqueued: the server confirmed the workflow's jobs. A record left
	// unconfirmed for long is that of a producer that stopped between
	// writing it and sending the jobs: steps without a record of their own
	// were then never stored.
	Enqueued bool `json:"enqueued"`
	// State: completed when every step completed; failed when every step
	// has finished and some failed or were cancelled; running once a step
	// has started or finished; else pending. Only from Client.Workflow.
	State State          `json:"state,omitempty"`
	Steps []WorkflowStep `json:"steps"`
}

// WorkflowStep is one job of a workflow.
type WorkflowStep struct {
	// Path is the step's place: "2" the chain's second step, "2.1" the
	// first member of the group there, "2.then" that group's callback.
	Path                    string   `json:"path"`
	JobID                   string   `json:"job_id"`
	Name                    string   `json:"function"`
	Queue                   string   `json:"queue_name"`
	DependsOn               []string `json:"depends_on,omitempty"`
	AllowFailedDependencies bool     `json:"allow_failed_dependencies,omitempty"`

	// The job's state, from its status and result (Client.Workflow only);
	// a step without either is pending in its queue.
	State      State     `json:"state,omitempty"`
	Error      string    `json:"error,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

type workflowConfig struct{ id string }

// WorkflowOption configures EnqueueWorkflow.
type WorkflowOption func(*workflowConfig) error

// WorkflowID sets the workflow's id (default: a new one, as a job's). An id
// already used gives ErrWorkflowExists.
func WorkflowID(id string) WorkflowOption {
	return func(c *workflowConfig) error {
		if err := layout.ValidateJobID(id); err != nil {
			return fmt.Errorf("%w: workflow id: %v", ErrInvalidJob, err)
		}
		c.id = id
		return nil
	}
}

// EnqueueWorkflow enqueues every job of f, or none: the jobs go to the server
// in one atomic batch (at most MaxAtomicBatch jobs), after the workflow's
// record, which Workflow reads back. Each job carries the workflow's id, and
// its dependencies give the order; a Go worker runs the steps, reading the
// results of the steps before with DependencyResult and its kin.
//
// Any invalid step, or a job id the server already holds, fails the call
// and enqueues nothing; calling it again is then safe.
func (c *Client) EnqueueWorkflow(ctx context.Context, f Flow, opts ...WorkflowOption) (*Workflow, error) {
	cfg := workflowConfig{}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.id == "" {
		cfg.id = newJobID()
	}
	jobs, steps, err := buildWorkflow(cfg.id, f)
	if err != nil {
		return nil, err
	}
	if len(jobs) > MaxAtomicBatch {
		return nil, fmt.Errorf("%w: workflow %s has %d jobs; one workflow holds at most %d (nothing was enqueued)",
			ErrInvalidJob, cfg.id, len(jobs), MaxAtomicBatch)
	}
	msgs := make([]*nats.Msg, len(jobs))
	for i, j := range jobs {
		if msgs[i], err = c.jobMsg(j); err != nil {
			return nil, fmt.Errorf("naq: workflow %s, step %s (nothing was enqueued): %w", cfg.id, steps[i].Path, err)
		}
		steps[i].Name, steps[i].Queue = j.Name, j.Queue
		steps[i].AllowFailedDependencies = j.Workflow.AllowFailedDependencies
	}
	wf := &Workflow{ID: cfg.id, CreatedAt: time.Now().UTC(), Steps: steps}
	kv, rev, err := c.createWorkflowRecord(ctx, wf)
	if err != nil {
		return nil, err
	}
	done := c.beforeEnqueue(ctx, jobs, msgs)
	if err := c.publishAtomic(ctx, msgs); err != nil {
		if done != nil {
			done(err)
		}
		// The record goes too, so the id can be used again.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		if derr := kv.Delete(dctx, wf.ID, jetstream.LastRevision(rev)); derr != nil {
			c.log.Warn("could not remove the record of a workflow that was not enqueued", "workflow", wf.ID, "err", derr)
		}
		return nil, fmt.Errorf("naq: workflow %s: %w", wf.ID, err)
	}
	if done != nil {
		done(nil)
	}
	if c.events {
		for _, j := range jobs {
			c.enqueued(j)
		}
	}
	if c.pending {
		c.writePendingAll(ctx, jobs)
	}
	wf.Enqueued = true
	if data, err := json.Marshal(wf); err == nil {
		if _, err := kv.Update(ctx, wf.ID, data, rev); err != nil {
			// The jobs are stored and run; only the record stays unconfirmed.
			c.log.Warn("workflow enqueued, but its record could not be marked so", "workflow", wf.ID, "err", err)
		}
	}
	wf.State = StatePending
	for i := range wf.Steps {
		wf.Steps[i].State = StatePending
	}
	return wf, nil
}

// createWorkflowRecord writes wf's record where no workflow of that id is,
// returning the bucket and the record's revision.
func (c *Client) createWorkflowRecord(ctx context.Context, wf *Workflow) (jetstream.KeyValue, uint64, error) {
	data, err := json.Marshal(wf)
	if err != nil {
		return nil, 0, fmt.Errorf("naq: workflow %s: encode its record: %w", wf.ID, err)
	}
	if max := c.nc.MaxPayload(); int64(len(data)+512) > max {
		return nil, 0, fmt.Errorf("%w: workflow %s: its record of %d steps is %d bytes, the server accepts at most %d (max_payload); split it into smaller workflows (nothing was enqueued)",
			ErrPayloadTooLarge, wf.ID, len(wf.Steps), len(data), max)
	}
	kv, err := c.workflowsBucket(ctx)
	if err != nil {
		return nil, 0, err
	}
	rev, err := kv.Create(ctx, wf.ID, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, 0, fmt.Errorf("%w: %s (nothing was enqueued; give the new one another id)", ErrWorkflowExists, wf.ID)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("naq: workflow %s: write its record (nothing was enqueued): %w", wf.ID, err)
	}
	return kv, rev, nil
}

// writePendingAll writes the jobs' pending status records, once they are
// stored (an atomic batch holds only jobs), and waits for the answers. A
// record fails only where a worker has already written one, which says more.
func (c *Client) writePendingAll(ctx context.Context, jobs []*Job) {
	var waits []<-chan struct{}
	for _, j := range jobs {
		done, err := c.writePending(ctx, j)
		if err != nil {
			c.log.Warn("pending records of a workflow not written", "workflow", j.Workflow.ID, "err", err)
			break
		}
		waits = append(waits, done)
	}
	timeout := time.After(publishTimeout)
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			return
		case <-timeout:
			return
		}
	}
}

func (c *Client) workflowsBucket(ctx context.Context) (jetstream.KeyValue, error) {
	return c.lazyBucket(ctx, &c.workflows, layout.WorkflowsBucket)
}
