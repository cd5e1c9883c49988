package worker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// WithPriorities weighs the worker's queues, as in
// WithPriorities(map[string]int{"critical": 6, "default": 3, "low": 1}): with
// jobs waiting on every queue, each queue gets a share of the worker's slots
// in proportion to its weight (here 60%, 30% and 10%); an empty queue's share
// goes to the others. Without WithQueues the worker consumes these queues.
// A queue consumed but not weighed weighs 1.
func WithPriorities(weights map[string]int) Option {
	weights = maps.Clone(weights)
	return field(func(c *Config) { c.Priorities = weights })
}

// WithStrictPriority gives a free slot to the heaviest queue that wants one:
// a lighter queue runs only while every heavier queue is empty. Queues are
// ranked by their weights (WithPriorities), else in the order of WithQueues.
func WithStrictPriority() Option { return field(func(c *Config) { c.StrictPriority = true }) }

// WithMaxRunning caps how many jobs of queue run at once across all workers,
// however many workers run and whatever their concurrency: the queue's
// consumer's max ack pending, which the server enforces. The cap stays on the
// queue when this worker stops, and workers started without WithMaxRunning
// keep it; n = 0 lifts it. A job a worker put back with a delay (a retry, a
// snooze, a wait for a dependency or a rate limit) holds one of the n places
// until it comes back.
func WithMaxRunning(queue string, n int) Option {
	return field(func(c *Config) {
		if c.MaxRunning == nil {
			c.MaxRunning = map[string]int{}
		} else {
			c.MaxRunning = maps.Clone(c.MaxRunning)
		}
		c.MaxRunning[queue] = n
	})
}

// priorityQueues lists weighed queues, heaviest first (ties by name), for a
// worker given weights but no queues.
func priorityQueues(weights map[string]int) []string {
	qs := slices.Collect(maps.Keys(weights))
	slices.SortFunc(qs, func(a, b string) int {
		return cmp.Or(cmp.Compare(weights[b], weights[a]), cmp.Compare(a, b))
	})
	return qs
}

// weights returns each queue's weight in the order of Queues, nil without
// priorities.
func (c Config) weights() []int {
	if len(c.Priorities) == 0 {
		return nil
	}
	w := make([]int, len(c.Queues))
	for i, q := range c.Queues {
		w[i] = max(c.Priorities[q], 1)
	}
	return w
}

// capped marks, per queue, the ones whose running jobs this worker caps
// (WithMaxRunning with n > 0); nil if none.
func (c Config) capped() []bool {
	if len(c.MaxRunning) == 0 {
		return nil
	}
	m := make([]bool, len(c.Queues))
	for i, q := range c.Queues {
		m[i] = c.MaxRunning[q] > 0
	}
	return m
}

func (c Config) validateFlow() []error {
	var errs []error
	for _, l := range c.RateLimits {
		if err := l.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for q, w := range c.Priorities {
		if err := layout.ValidateQueue(q); err != nil {
			errs = append(errs, fmt.Errorf("%w: priorities: %v", naq.ErrInvalidQueue, err))
		}
		if w < 1 {
			errs = append(errs, fmt.Errorf("worker: priority of queue %s is %d; weights are 1 or more", q, w))
		}
		if !slices.Contains(c.Queues, q) {
			errs = append(errs, fmt.Errorf("worker: queue %s has a priority but is not among the worker's queues %v", q, c.Queues))
		}
	}
	for q, n := range c.MaxRunning {
		if !slices.Contains(c.Queues, q) {
			errs = append(errs, fmt.Errorf("worker: max running of queue %s: not among the worker's queues %v", q, c.Queues))
		}
		if n < 0 {
			errs = append(errs, fmt.Errorf("worker: max running of queue %s is %d; 1 or more caps it, 0 lifts the cap", q, n))
		}
	}
	return errs
}
