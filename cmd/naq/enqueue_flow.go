package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/naqgo/naq"
)

// enqueueFlowFlags are naq enqueue's flow-control flags: a unique job, a
// rate key.
type enqueueFlowFlags struct {
	unique      bool
	uniqueKey   string
	uniqueScope string
	uniqueFor   time.Duration
	rateKey     string
}

func (f *enqueueFlowFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.unique, "unique", false, "enqueue nothing while a job with the same queue, name and arguments is pending or running (prints that job's id)")
	fl.StringVar(&f.uniqueKey, "unique-key", "", "the same, for any job enqueued with this key (implies --unique)")
	fl.StringVar(&f.uniqueScope, "unique-scope", "active", "how long a unique job holds its key: pending (until it starts) or active (until it ends)")
	fl.DurationVar(&f.uniqueFor, "unique-for", 0, "hold the key for this long from now instead, whether the job ended or not (implies --unique)")
	fl.StringVar(&f.rateKey, "rate-key", "", "the rate limit the job's starts count against (a worker's --rate-limit)")
}

func (f *enqueueFlowFlags) isUnique() bool { return f.unique || f.uniqueKey != "" || f.uniqueFor != 0 }

// options turns the flags into enqueue options.
func (f *enqueueFlowFlags) options() ([]naq.EnqueueOption, error) {
	var opts []naq.EnqueueOption
	if f.rateKey != "" {
		opts = append(opts, naq.RateKey(f.rateKey))
	}
	if !f.isUnique() {
		if f.uniqueScope != "active" {
			return nil, usagef("--unique-scope goes with --unique, --unique-key or --unique-for")
		}
		return opts, nil
	}
	var u []naq.UniqueOption
	if f.uniqueKey != "" {
		u = append(u, naq.ByKey(f.uniqueKey))
	}
	switch {
	case f.uniqueFor != 0:
		u = append(u, naq.ForPeriod(f.uniqueFor))
	case f.uniqueScope == "pending":
		u = append(u, naq.WhilePending())
	case f.uniqueScope == "active":
		u = append(u, naq.WhileActive())
	default:
		return nil, usagef("--unique-scope %q: want pending or active", f.uniqueScope)
	}
	return append(opts, naq.Unique(u...)), nil
}
