package naq

// Workflows: chains and groups of jobs built on depends_on. A workflow is
// flattened into ordinary jobs whose dependencies give its order, enqueued
// together in one atomic batch (workflow_enqueue.go); workers run each step
// as any job with dependencies, so a failure cascades down a chain as it
// does for depends_on, and a group's callback is one job that waits for all
// the members (and so runs once, however many workers there are).

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// WorkflowLink ties a job to its workflow: "workflow_id" and
// "allow_failed_dependencies" on the wire, both optional.
type WorkflowLink struct {
	// ID is the workflow's id.
	ID string
	// AllowFailedDependencies runs the job once all its dependencies have
	// finished, whether they completed or not (a group callback made
	// AlsoOnFailure); by default a failed dependency fails the job unrun.
	AllowFailedDependencies bool
}

// Flow is one part of a workflow: a job (a *Job from NewJob, or a Step), a
// Chain or a Group. Flows nest: a chain of groups, a group of chains.
type Flow interface {
	// build adds the flow's jobs to b, each depending on after, and returns
	// the ids of the jobs that end the flow.
	build(b *builder, after []string, allowFailed bool, path string) []string
}

// Step is a workflow step that runs the job named name with args (as
// Enqueue takes them). An invalid option is reported by EnqueueWorkflow,
// which then enqueues nothing.
func Step(name string, args any, opts ...EnqueueOption) Flow {
	j, err := NewJob(name, args, opts...)
	if err != nil {
		return &badStep{fmt.Errorf("step %q: %w", name, err)}
	}
	return j
}

type badStep struct{ err error }

func (s *badStep) build(b *builder, _ []string, _ bool, path string) []string {
	b.fail(path, s.err)
	return nil
}

// build adds a copy of the job, so the same *Job can be built again (after
// a failed enqueue) without its dependencies doubling.
func (j *Job) build(b *builder, after []string, allowFailed bool, path string) []string {
	if j == nil {
		b.fail(path, fmt.Errorf("%w: a nil job", ErrInvalidJob))
		return nil
	}
	if _, dup := b.seen[j]; dup {
		b.fail(path, fmt.Errorf("%w: job %s appears twice in the workflow", ErrInvalidJob, j.ID))
		return nil
	}
	b.seen[j] = struct{}{}
	if j.uniqueAsked() != nil {
		// A workflow is one atomic batch, and a unique lock is taken one job
		// at a time before its publish: a step could not report a duplicate.
		b.fail(path, fmt.Errorf("%w: job %s is unique: a workflow step cannot be (enqueue unique jobs one by one)", ErrInvalidJob, j.ID))
		return nil
	}
	c := *j
	c.DependsOn = append(slices.Clip(j.DependsOn), after...)
	if c.DependsOn == nil {
		c.DependsOn = []string{}
	}
	if len(j.RetryDelay) == 1 { // keep the copy's single delay in its own array
		c.oneDelay[0] = j.RetryDelay[0]
		c.RetryDelay = c.oneDelay[:]
	}
	c.Workflow = &WorkflowLink{ID: b.id, AllowFailedDependencies: allowFailed || j.Workflow != nil && j.Workflow.AllowFailedDependencies}
	b.jobs = append(b.jobs, &c)
	b.steps = append(b.steps, WorkflowStep{Path: path, JobID: c.ID, DependsOn: c.DependsOn})
	return []string{c.ID}
}

// Chain runs its steps one after the other: each starts once the one before
// it completed (all of it, for a group), and reads its results with
// DependencyResult or PreviousResult. A step that fails fails the rest of the
// chain unrun, each with the error kind dependency_failed.
func Chain(steps ...Flow) Flow { return &chain{steps: steps} }

type chain struct{ steps []Flow }

func (c *chain) build(b *builder, after []string, allowFailed bool, path string) []string {
	if len(c.steps) == 0 {
		b.fail(path, fmt.Errorf("%w: an empty chain", ErrInvalidJob))
		return nil
	}
	for i, s := range c.steps {
		if s == nil {
			b.fail(join(path, strconv.Itoa(i+1)), fmt.Errorf("%w: a nil step", ErrInvalidJob))
			return nil
		}
		// Only the chain's first step follows what came before the chain.
		after = s.build(b, after, allowFailed && i == 0, join(path, strconv.Itoa(i+1)))
	}
	return after
}

// Group runs its members in parallel. What follows a group in a chain, and
// its callback (Then), start once every member has finished.
func Group(members ...Flow) *GroupFlow { return &GroupFlow{members: members} }

// GroupFlow is a Group, with its callback once Then gave it one.
type GroupFlow struct {
	members   []Flow
	callback  Flow
	onFailure bool
}

// CallbackOption configures Then.
type CallbackOption func(*GroupFlow)

// AlsoOnFailure runs the callback also when some members failed or were
// cancelled; it reads the failures with DependencyResults. Without it, a
// failed member fails the callback unrun, as in a chain.
func AlsoOnFailure() CallbackOption { return func(g *GroupFlow) { g.onFailure = true } }

// Then sets the group's callback: a flow (usually one job) that runs once,
// when all the members have finished, and reads all their results with
// DependencyValues or DependencyResults. It is one job that depends on every
// member, so it runs once however many workers and redeliveries there are.
func (g *GroupFlow) Then(callback Flow, opts ...CallbackOption) *GroupFlow {
	c := &GroupFlow{members: g.members, callback: callback, onFailure: g.onFailure}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (g *GroupFlow) build(b *builder, after []string, allowFailed bool, path string) []string {
	if len(g.members) == 0 {
		b.fail(path, fmt.Errorf("%w: an empty group", ErrInvalidJob))
		return nil
	}
	var tails []string
	for i, m := range g.members {
		if m == nil {
			b.fail(join(path, strconv.Itoa(i+1)), fmt.Errorf("%w: a nil group member", ErrInvalidJob))
			continue
		}
		tails = append(tails, m.build(b, after, allowFailed, join(path, strconv.Itoa(i+1)))...)
	}
	if g.callback == nil {
		return tails
	}
	return g.callback.build(b, tails, g.onFailure, join(path, "then"))
}

// join names a step by its place: "2.1" is the first member of the group
// that is the chain's second step; "2.then" that group's callback.
func join(path, part string) string {
	if path == "" {
		return part
	}
	return path + "." + part
}

// builder collects a workflow's jobs and steps as its flows are built.
type builder struct {
	id    string
	jobs  []*Job
	steps []WorkflowStep
	seen  map[*Job]struct{}
	errs  []error
}

func (b *builder) fail(path string, err error) {
	if path == "" {
		path = "1"
	}
	b.errs = append(b.errs, fmt.Errorf("workflow step %s: %w", path, err))
}

// buildWorkflow flattens f into the jobs of workflow id.
func buildWorkflow(id string, f Flow) ([]*Job, []WorkflowStep, error) {
	if f == nil {
		return nil, nil, fmt.Errorf("%w: a nil workflow", ErrInvalidJob)
	}
	b := &builder{id: id, seen: map[*Job]struct{}{}}
	path := ""
	if _, single := f.(*Job); single {
		path = "1"
	}
	f.build(b, nil, false, path)
	if len(b.errs) > 0 {
		return nil, nil, fmt.Errorf("naq: workflow %s (nothing was enqueued): %w", id, errors.Join(b.errs...))
	}
	ids := make(map[string]struct{}, len(b.jobs))
	for _, j := range b.jobs {
		if _, dup := ids[j.ID]; dup {
			return nil, nil, fmt.Errorf("naq: workflow %s (nothing was enqueued): %w: job id %s appears twice", id, ErrInvalidJob, j.ID)
		}
		ids[j.ID] = struct{}{}
	}
	return b.jobs, b.steps, nil
}
