package naq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// MaxDependentsListed is the most dependents Dependents returns.
const MaxDependentsListed = 1000

// Dependent is a job that waits for another through depends_on.
type Dependent struct {
	JobID string `json:"job_id"`
	Name  string `json:"function"`
	// State is the job's state: StatePending while no worker has taken it
	// (no status record), "" when its record could not be read.
	State State `json:"state"`
}

// Dependents lists the jobs that wait for job id through depends_on
// (workflow steps are listed by Workflow instead), with their states, at most
// MaxDependentsListed of them, sorted by id. A job enqueued by a naq-go client
// is listed from its enqueue on; one enqueued by Python naq from the moment a
// naq-go worker finds it waiting. The index is kept as long as results.
func (c *Client) Dependents(ctx context.Context, id string) ([]Dependent, error) {
	if err := layout.ValidateJobID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	kv, err := c.js.KeyValue(ctx, layout.DependentsBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil // no job has had a dependency yet
	}
	if err != nil {
		return nil, fmt.Errorf("naq: dependents of %s: %w", id, err)
	}
	keys, err := kv.ListKeysFiltered(ctx, layout.DependentKey(id, "*"))
	if err != nil {
		return nil, fmt.Errorf("naq: dependents of %s: %w", id, err)
	}
	defer func() { _ = keys.Stop() }()
	var out []Dependent
	for k := range keys.Keys() {
		if len(out) < MaxDependentsListed {
			out = append(out, Dependent{JobID: strings.TrimPrefix(k, id+".")})
		}
	}
	slices.SortFunc(out, func(a, b Dependent) int { return strings.Compare(a.JobID, b.JobID) })
	_ = readEach(len(out), func(i int) error {
		d := &out[i]
		if e, err := kv.Get(ctx, layout.DependentKey(id, d.JobID)); err == nil {
			d.Name = string(e.Value())
		}
		st, err := c.Status(ctx, d.JobID)
		switch {
		case err == nil:
			d.State = st.State
		case errors.Is(err, ErrJobNotFound):
			d.State = StatePending // in its queue; no worker has taken it yet
		}
		return nil
	})
	return out, nil
}

// dependentsRetry is how long a client leaves the index alone after it
// could neither find nor create its bucket (a producer without the
// permission, before any worker made it).
const dependentsRetry = time.Minute

// indexDependents adds to the index those of jobs that depend on others
// (outside workflows, whose record keeps their graph). The entries are core
// publishes into the bucket's stream, sent before the jobs on the same
// connection: nothing waits for them, and a producer that may not write them
// (the server drops the publish) is neither slowed nor failed. The index only
// describes the jobs, so it never fails an enqueue.
func (c *Client) indexDependents(ctx context.Context, jobs []*Job) {
	n := 0
	for _, j := range jobs {
		if len(j.DependsOn) > 0 && j.Workflow == nil {
			n++
		}
	}
	if n == 0 || !c.dependentsReady(ctx) {
		return
	}
	for _, j := range jobs {
		if j.Workflow != nil {
			continue
		}
		for _, dep := range j.DependsOn {
			_ = c.nc.Publish(layout.DependentSubject(dep, j.ID), []byte(j.Name))
		}
	}
}

// dependentsReady finds the index's bucket, or creates it, once; after a
// failure it tries again only after dependentsRetry.
func (c *Client) dependentsReady(ctx context.Context) bool {
	c.mu.Lock()
	ready, off := c.dependents != nil, time.Now().Before(c.dependentsOff)
	c.mu.Unlock()
	if ready || off {
		return ready
	}
	// A producer that may not create the bucket gets no answer: bound the wait.
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	kv, err := layout.EnsureBucket(pctx, c.js, c.layout, layout.DependentsBucket)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.dependentsOff = time.Now().Add(dependentsRetry)
		c.log.Warn("jobs with dependencies are enqueued without their dependents index (a worker creates it at its start)",
			"err", err, "retry_in", dependentsRetry)
		return false
	}
	c.dependents = kv
	return true
}
