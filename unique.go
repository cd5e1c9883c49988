package naq

// Unique jobs: a lock per unique key in naq_unique, taken with a
// create-if-absent before the job is published, so of any number of
// producers enqueueing the same unique job at once exactly one stores it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// UniqueScope says how long a unique job keeps others with its key out.
type UniqueScope string

// Unique scopes, as written in a job's unique_scope field.
const (
	// UniquePending holds the key until a worker starts the job.
	UniquePending UniqueScope = "pending"
	// UniqueActive holds the key until the job has ended (completed, failed
	// for good or cancelled): while it waits, runs and waits for retries.
	UniqueActive UniqueScope = "active"
	// UniquePeriod holds the key for a fixed period from the enqueue,
	// however the job fares.
	UniquePeriod UniqueScope = "period"
)

// DefaultUniqueTTL bounds how long a unique job holds its key in the pending
// and active scopes: a job lost with its worker, or stuck, no longer blocks
// its key after it.
const DefaultUniqueTTL = 24 * time.Hour

// uniqueSpec is what Unique asked for; the lock's key is made from it at
// enqueue, once the job's queue is known.
type uniqueSpec struct {
	key   string // ByKey's key; "" for the function and arguments
	scope UniqueScope
	ttl   time.Duration
}

// UniqueOption configures Unique.
type UniqueOption func(*uniqueSpec) error

// ByKey makes the job unique by key: no two jobs enqueued with the same key
// (on any queue, with any arguments) are held at once.
func ByKey(key string) UniqueOption {
	return func(s *uniqueSpec) error {
		if key == "" {
			return fmt.Errorf("%w: unique key must not be empty", ErrInvalidJob)
		}
		s.key = key
		return nil
	}
}

// ByArgs makes the job unique by its queue, name and arguments (the default):
// keyword arguments are compared whatever their order.
func ByArgs() UniqueOption { return func(s *uniqueSpec) error { s.key = ""; return nil } }

// WhilePending holds the key until a worker starts the job.
func WhilePending() UniqueOption {
	return func(s *uniqueSpec) error { s.scope = UniquePending; return nil }
}

// WhileActive holds the key until the job has ended, retries included (the
// default).
func WhileActive() UniqueOption {
	return func(s *uniqueSpec) error { s.scope = UniqueActive; return nil }
}

// ForPeriod holds the key for d from the enqueue (at least one second),
// whether the job has ended or not.
func ForPeriod(d time.Duration) UniqueOption {
	return func(s *uniqueSpec) error {
		if d < time.Second {
			return fmt.Errorf("%w: unique period %s is below one second", ErrInvalidJob, d)
		}
		s.scope, s.ttl = UniquePeriod, d
		return nil
	}
}

// UniqueTTL bounds how long a pending or active job holds its key (default
// DefaultUniqueTTL, at least one second): a job whose worker died, or that
// waits longer than d, no longer keeps others out.
func UniqueTTL(d time.Duration) UniqueOption {
	return func(s *uniqueSpec) error {
		if d < time.Second {
			return fmt.Errorf("%w: unique TTL %s is below one second", ErrInvalidJob, d)
		}
		s.ttl = d
		return nil
	}
}

// Unique makes the job unique: while another job with the same key holds it
// (by default the same queue, name and arguments, until that job has ended),
// enqueueing this one stores nothing and returns the job already held, with
// its id and Duplicate set. A lost job releases its key after UniqueTTL.
//
// A duplicate is reported by Duplicate, not as an error: it is an expected
// outcome, not a failure, and the call still gives the caller a job id to
// follow. Check it where it matters:
//
//	j, err := c.Enqueue(ctx, "report:build", args, naq.Unique(naq.ByKey("daily")))
//	if err == nil && j.Duplicate { /* j.ID is the job already queued */ }
func Unique(opts ...UniqueOption) EnqueueOption {
	return func(j *Job) error {
		s := &uniqueSpec{scope: UniqueActive}
		for _, o := range opts {
			if err := o(s); err != nil {
				return err
			}
		}
		if s.ttl == 0 {
			s.ttl = DefaultUniqueTTL
		}
		j.flow().unique = s
		return nil
	}
}

// uniqueKey is the lock's key of j: a hash, so any key or arguments make a
// valid bucket key of fixed size.
func (j *Job) uniqueKey() (string, error) {
	h := sha256.New()
	if k := j.Flow.unique.key; k != "" {
		h.Write([]byte("key\x00" + k))
	} else {
		args, err := j.appendArgs([]byte("args\x00" + j.Queue + "\x00" + j.Name + "\x00"))
		if err == nil {
			args, err = j.appendKwargs(append(args, 0))
		}
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidArgs, err)
		}
		h.Write(args)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// claimUnique takes the lock of a unique job before it is published. When
// another job holds it, j becomes that job (its id, Duplicate set) and held
// is true: nothing is to be published. Otherwise release gives the lock back,
// for a publish that failed.
func (c *Client) claimUnique(ctx context.Context, j *Job) (held bool, release func(), err error) {
	kv, err := c.uniqueBucket(ctx)
	if err != nil {
		return false, nil, err
	}
	f := j.Flow
	if f.UniqueKey, err = j.uniqueKey(); err != nil {
		return false, nil, err
	}
	f.UniqueScope = f.unique.scope
	// A lock living past the server's horizon would expire at once.
	ttl := layout.CapWait(time.Now(), f.unique.ttl).Round(time.Second)
	for range 5 { // a lock released between the create and the read: try again
		rev, err := kv.Create(ctx, f.UniqueKey, []byte(j.ID), jetstream.KeyTTL(ttl))
		if err == nil {
			return false, func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = kv.Purge(ctx, f.UniqueKey, jetstream.LastRevision(rev), jetstream.PurgeTTL(time.Minute))
			}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil, fmt.Errorf("naq: unique lock of job %s: %w", j.ID, err)
		}
		e, err := kv.Get(ctx, f.UniqueKey)
		if layout.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, nil, fmt.Errorf("naq: unique lock of job %s: %w", j.ID, err)
		}
		j.ID, j.Duplicate = string(e.Value()), true
		return true, nil, nil
	}
	return false, nil, fmt.Errorf("naq: unique lock of job %s: the key changed hands five times in a row; enqueue again", j.ID)
}

// uniqueBucket provisions naq_unique on first use.
func (c *Client) uniqueBucket(ctx context.Context) (jetstream.KeyValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unique == nil {
		kv, err := layout.EnsureUniqueBucket(ctx, c.js, c.layout)
		if err != nil {
			return nil, err
		}
		c.unique = kv
	}
	return c.unique, nil
}

// enqueueUnique enqueues a unique job through publish once it holds its
// key, and gives the key back when the publish fails.
func (c *Client) enqueueUnique(ctx context.Context, j *Job, publish func(context.Context, *Job) error) error {
	if j.Queue == "" {
		j.Queue = c.defaultQueue
	}
	if err := layout.ValidateQueue(j.Queue); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidQueue, err)
	}
	if err := layout.ValidateJobID(j.ID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	held, release, err := c.claimUnique(ctx, j)
	if err != nil || held {
		return err
	}
	if err := publish(ctx, j); err != nil {
		release()
		return err
	}
	return nil
}
