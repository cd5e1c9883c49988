package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// uniqueLocks releases the locks of unique jobs (see naq.Unique) in
// naq_unique, provisioned when the first unique job comes.
type uniqueLocks struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

func (u *uniqueLocks) bucket(ctx context.Context, sh *Shared) (jetstream.KeyValue, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.kv == nil {
		kv, err := layout.EnsureUniqueBucket(ctx, sh.JS, sh.layout())
		if err != nil {
			return nil, err
		}
		u.kv = kv
	}
	return u.kv, nil
}

// releaseUnique gives back job's unique lock when scope is the job's: at the
// start of a job unique while pending, at the end of one unique while active
// (and at the end of a pending one that never started). The lock is released
// only while it still names this job: after an expiry another job may hold
// the key. A release that fails leaves the lock to its TTL.
func (r *run) releaseUnique(job *naq.Job, scopes ...naq.UniqueScope) {
	f := job.Flow
	if f == nil || f.UniqueKey == "" {
		return
	}
	mine := false
	for _, s := range scopes {
		mine = mine || f.UniqueScope == s
	}
	if !mine {
		return
	}
	ctx, cancel := context.WithTimeout(r.io, 5*time.Second)
	defer cancel()
	kv, err := r.unique.bucket(ctx, r.sh)
	if err == nil {
		var e jetstream.KeyValueEntry
		e, err = kv.Get(ctx, f.UniqueKey)
		switch {
		case layout.IsNotFound(err):
			return // expired, or released already
		case err == nil && string(e.Value()) != job.ID:
			return // another job's now
		case err == nil:
			err = kv.Purge(ctx, f.UniqueKey, jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(time.Minute))
		}
	}
	if err != nil {
		r.sh.Logger.Warn("could not release a unique job's lock; it expires by its TTL", "job", job.ID, "err", err)
	}
}
