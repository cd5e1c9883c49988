package worker

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// dependentsIndex writes naq_dependents entries for jobs found waiting for
// their dependencies, so the jobs a job holds up can be listed (see
// naq.Client.Dependents) even when a producer that keeps no index, such as
// Python naq, enqueued them. It is provisioned when the first job waits.
type dependentsIndex struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

// provision makes the index exist at the worker's start, so that producers
// with fewer permissions find it (they may write to it without creating it).
// A worker that may not create it goes on without: add tries again.
func (x *dependentsIndex) provision(ctx context.Context, sh *Shared) {
	x.mu.Lock()
	defer x.mu.Unlock()
	kv, err := layout.EnsureBucket(ctx, sh.JS, sh.layout(), layout.DependentsBucket)
	if err != nil {
		sh.Logger.Warn("dependents index unavailable; jobs that wait are not listed as dependents", "err", err)
		return
	}
	x.kv = kv
}

// add records that job waits for each of its dependencies. A failure leaves
// the job unlisted and is logged; the job itself goes on waiting.
func (x *dependentsIndex) add(ctx context.Context, sh *Shared, job *naq.Job) {
	if job.Workflow != nil {
		return // a workflow's record lists its steps' dependencies
	}
	x.mu.Lock()
	if x.kv == nil {
		kv, err := layout.EnsureBucket(ctx, sh.JS, sh.layout(), layout.DependentsBucket)
		if err != nil {
			x.mu.Unlock()
			sh.Logger.Warn("dependents index unavailable", "job", job.ID, "err", err)
			return
		}
		x.kv = kv
	}
	kv := x.kv
	x.mu.Unlock()
	for _, dep := range job.DependsOn {
		if layout.ValidateJobID(dep) != nil {
			continue // unreadable id: the dependency check reports it
		}
		if _, err := kv.Put(ctx, layout.DependentKey(dep, job.ID), []byte(job.Name)); err != nil {
			sh.Logger.Warn("dependents index entry not stored", "job", job.ID, "dependency", dep, "err", err)
			return
		}
	}
}
