package naq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// MaxDependentsListed is the most dependents Dependents returns.
const MaxDependentsListed = 1000

// Dependent is a job that waits for another through depends_on.
type Dependent struct {
	JobID string
	Name  string // its function
}

// Dependents lists the jobs that wait for job id through depends_on
// (workflow steps are listed by Workflow instead), at most
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
	for i := range out {
		if e, err := kv.Get(ctx, layout.DependentKey(id, out[i].JobID)); err == nil {
			out[i].Name = string(e.Value())
		}
	}
	return out, nil
}

// indexDependents starts writing the index entries of those of jobs that
// depend on others (outside workflows, which keep their own record), in
// parallel with the jobs themselves; wait waits for the answers. The index
// only describes the jobs, so its failure does not fail an enqueue: it is
// logged.
func (c *Client) indexDependents(ctx context.Context, jobs []*Job) (wait func()) {
	n := 0
	for _, j := range jobs {
		if len(j.DependsOn) > 0 && j.Workflow == nil {
			n += len(j.DependsOn)
		}
	}
	if n == 0 {
		return func() {}
	}
	if _, err := c.lazyBucket(ctx, &c.dependents, layout.DependentsBucket); err != nil {
		c.log.Warn("jobs with dependencies are enqueued without their dependents index", "err", err)
		return func() {}
	}
	plain, _, err := c.publishers()
	if err != nil {
		c.log.Warn("jobs with dependencies are enqueued without their dependents index", "err", err)
		return func() {}
	}
	var (
		mu    sync.Mutex
		left  = n
		first error
		done  = make(chan struct{})
	)
	answer := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
		if left--; left == 0 {
			close(done)
		}
	}
	for _, j := range jobs {
		if j.Workflow != nil {
			continue
		}
		for _, dep := range j.DependsOn {
			plain.Write(ctx, &nats.Msg{Subject: layout.DependentSubject(dep, j.ID), Data: []byte(j.Name)}, answer)
		}
	}
	return func() {
		select {
		case <-done:
			mu.Lock()
			err := first
			mu.Unlock()
			if err != nil {
				c.log.Warn("a dependents index entry was not stored", "err", err)
			}
		case <-ctx.Done():
		case <-time.After(publishTimeout):
			c.log.Warn("the dependents index did not answer in time", "timeout", publishTimeout)
		}
	}
}
