package worker

// Rate limits: at most N starts of some jobs per period, across every worker
// and surviving their restarts. Starts are counted in naq_rate_limits, a
// counter stream: one subject per limit and window of the period (aligned on
// the Unix epoch), incremented by the server atomically, so any number of
// workers take at most N starts in each window without a lock. A job over the
// limit goes back to its queue until the next window, its attempt not
// counted.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// RateLimit caps how many jobs start per period across all workers. It
// applies to the jobs enqueued with naq.RateKey(Key), or, with Function set
// instead, to the jobs of that name. Every worker that runs such jobs should
// be given the same limit: a worker without it starts them freely.
type RateLimit struct {
	Key      string
	Function string
	// Starts is how many jobs may start in each window of length Per
	// (windows are aligned on the Unix epoch: a limit of 10 per second allows
	// 10 starts from 12:00:00.000 to 12:00:00.999, and 10 from 12:00:01.000).
	Starts int
	Per    time.Duration
}

func (l RateLimit) String() string {
	if l.Function != "" {
		return fmt.Sprintf("function %s: %d per %s", l.Function, l.Starts, l.Per)
	}
	return fmt.Sprintf("key %s: %d per %s", l.Key, l.Starts, l.Per)
}

func (l RateLimit) validate() error {
	switch {
	case (l.Key == "") == (l.Function == ""):
		return fmt.Errorf("worker: rate limit %v: set either Key or Function", l)
	case l.Key != "" && naq.ValidateRateKey(l.Key) != nil:
		return fmt.Errorf("worker: rate limit %v: %w", l, naq.ValidateRateKey(l.Key))
	case l.Starts < 1:
		return fmt.Errorf("worker: rate limit %v: allow at least one start", l)
	case l.Per < time.Second || l.Per > layout.MaxRatePeriod:
		// Each window of each limit leaves one counter for a day (a counter
		// stream takes no per-message TTL): windows under a second would
		// leave too many.
		return fmt.Errorf("worker: rate limit %v: the period must be from 1s to %s", l, layout.MaxRatePeriod)
	}
	return nil
}

// WithRateLimit lets at most n jobs enqueued with naq.RateKey(key) start per
// period, across all workers.
func WithRateLimit(key string, n int, per time.Duration) Option {
	return field(func(c *Config) { c.RateLimits = append(c.RateLimits, RateLimit{Key: key, Starts: n, Per: per}) })
}

// WithFunctionRateLimit lets at most n jobs named name start per period,
// across all workers.
func WithFunctionRateLimit(name string, n int, per time.Duration) Option {
	return field(func(c *Config) { c.RateLimits = append(c.RateLimits, RateLimit{Function: name, Starts: n, Per: per}) })
}

// limiter holds a worker's rate limits.
type limiter struct {
	js     jetstream.JetStream
	byKey  map[string]*limit
	byFunc map[string]*limit
}

type limit struct {
	RateLimit
	prefix string // the counter subjects' prefix
}

// newLimiter provisions the counters; nil when there are no limits.
func newLimiter(ctx context.Context, sh *Shared) (*limiter, error) {
	if len(sh.Config.RateLimits) == 0 {
		return nil, nil
	}
	if _, err := layout.EnsureRateLimitStream(ctx, sh.JS, sh.layout()); err != nil {
		return nil, fmt.Errorf("worker: rate limits: %w", err)
	}
	l := &limiter{js: sh.JS, byKey: map[string]*limit{}, byFunc: map[string]*limit{}}
	for _, rl := range sh.Config.RateLimits {
		if rl.Key != "" {
			l.byKey[rl.Key] = &limit{rl, layout.RateLimitSubjectPrefix + "key_" + rl.Key + "."}
			continue
		}
		// A name may hold any character: its hash makes a subject token.
		sum := sha256.Sum256([]byte(rl.Function))
		l.byFunc[rl.Function] = &limit{rl, layout.RateLimitSubjectPrefix + "fn_" + hex.EncodeToString(sum[:12]) + "."}
	}
	return l, nil
}

// take counts a start of job against each limit it falls under. It returns
// nil when the job may start, else the limit it is over and the end of that
// limit's window.
func (l *limiter) take(ctx context.Context, job *naq.Job) (*limit, time.Time, error) {
	key := ""
	if job.Flow != nil {
		key = job.Flow.RateKey
	}
	for _, lim := range [2]*limit{l.byFunc[job.Name], l.byKey[key]} {
		if lim == nil {
			continue
		}
		now := time.Now()
		w := now.UnixNano() / int64(lim.Per)
		msg := nats.NewMsg(lim.prefix + strconv.FormatInt(w, 10))
		msg.Header.Set("Nats-Incr", "+1")
		ack, err := l.js.PublishMsg(ctx, msg)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("count a start against rate limit %v: %w", lim.RateLimit, err)
		}
		total, err := strconv.ParseInt(ack.Value, 10, 64)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("rate limit %v: the server's count %q is not a number: %w", lim.RateLimit, ack.Value, err)
		}
		if total > int64(lim.Starts) {
			return lim, time.Unix(0, (w+1)*int64(lim.Per)), nil
		}
	}
	return nil, time.Time{}, nil
}

// withinRateLimits reports whether the job may start now. If it is over a
// limit it has put the job back until the limit's next window (a little
// after its start, at random, so the jobs that waited do not all come back at
// once), recorded as a deliberate put-back, not an attempt.
func (r *run) withinRateLimits(ctx context.Context, d *delivery) bool {
	job, m := d.job, d.msg
	if (job.Flow == nil || job.Flow.RateKey == "") && r.limits.byFunc[job.Name] == nil {
		return true
	}
	lim, next, err := r.limits.take(ctx, job)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			r.sh.Logger.Warn("rate limit check failed; retrying", "job", job.ID, "err", err)
		}
		_ = m.NakWithDelay(time.Second)
		return false
	}
	if lim == nil {
		return true
	}
	delay := time.Until(next) + time.Duration(rand.Int64N(int64(min(lim.Per/4, time.Second))+1))
	st := r.jobs.statusOf(job, naq.StatePending)
	st.Attempts, st.NextAttemptAt, st.Naks = job.Attempt-1, time.Now().UTC().Add(delay), d.naks+1
	st.Error = "waiting for rate limit " + lim.String()
	if err := r.jobs.SetStatus(ctx, st); err != nil {
		r.sh.Logger.Warn("status write failed; the job returns after the ack wait", "job", job.ID, "err", err)
		return false
	}
	r.sh.Logger.Debug("job over its rate limit; put back", "job", job.ID, "limit", lim.String(), "wait", delay)
	_ = m.NakWithDelay(delay)
	return false
}
