package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/naqgo/naq/worker"
)

// flowFlags are the worker's flow-control flags: queue priorities, a cap on
// a queue's running jobs, rate limits.
type flowFlags struct {
	priorities    []string
	strict        bool
	maxRunning    []string
	rateLimits    []string
	functionRates []string
}

func (f *flowFlags) register(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.priorities, "priority", nil, "queue weights, as critical=6,default=3,low=1: shares of the slots under backlog (the queues, when none are given)")
	fl.BoolVar(&f.strict, "strict-priority", false, "give a free slot to the heaviest queue that wants one (by --priority, else in the order of the queues)")
	fl.StringSliceVar(&f.maxRunning, "max-running", nil, "at most N jobs of a queue running across all workers, as emails=5 (0 lifts a cap)")
	fl.StringSliceVar(&f.rateLimits, "rate-limit", nil, "at most N starts per period of the jobs with a rate key, across all workers, as partner-api=10/1s")
	fl.StringSliceVar(&f.functionRates, "function-rate-limit", nil, "at most N starts per period of the jobs of a name, across all workers, as mail:send=100/1m")
}

// options turns the flags into worker options; prioritized reports whether
// they name the queues.
func (f *flowFlags) options() (opts []worker.Option, prioritized bool, err error) {
	if len(f.priorities) > 0 {
		weights := map[string]int{}
		for _, p := range f.priorities {
			q, n, err := nameInt("--priority", p)
			if err != nil {
				return nil, false, err
			}
			weights[q] = n
		}
		opts, prioritized = append(opts, worker.WithPriorities(weights)), true
	}
	if f.strict {
		opts = append(opts, worker.WithStrictPriority())
	}
	for _, m := range f.maxRunning {
		q, n, err := nameInt("--max-running", m)
		if err != nil {
			return nil, false, err
		}
		opts = append(opts, worker.WithMaxRunning(q, n))
	}
	for _, spec := range [...]struct {
		flag string
		vals []string
		opt  func(string, int, time.Duration) worker.Option
	}{{"--rate-limit", f.rateLimits, worker.WithRateLimit}, {"--function-rate-limit", f.functionRates, worker.WithFunctionRateLimit}} {
		for _, v := range spec.vals {
			name, rate, ok := cutLast(v, "=")
			count, per, ok2 := strings.Cut(rate, "/")
			n, err := strconv.Atoi(count)
			d, err2 := time.ParseDuration(per)
			if !ok || !ok2 || name == "" || err != nil || err2 != nil {
				return nil, false, fmt.Errorf("%s %q: want NAME=N/PERIOD, as partner-api=10/1s", spec.flag, v)
			}
			opts = append(opts, spec.opt(name, n, d))
		}
	}
	return opts, prioritized, nil
}

// nameInt parses NAME=N.
func nameInt(flag, v string) (string, int, error) {
	name, num, ok := cutLast(v, "=")
	n, err := strconv.Atoi(num)
	if !ok || name == "" || err != nil {
		return "", 0, fmt.Errorf("%s %q: want NAME=N, as emails=5", flag, v)
	}
	return name, n, nil
}

// cutLast cuts s around the last sep: a function name may hold '='.
func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
