package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaderKey is the one key of naq_go_scheduler_lock.
const leaderKey = "leader_lock"

// lease is leadership held as a key in a bucket whose max age is the lease
// time: Create takes it only if nobody holds it, every renewal is an Update
// against the revision we last wrote (so a lost lease can never be renewed),
// and the revision fences the holder.
type lease struct {
	kv   jetstream.KeyValue
	id   string
	ttl  time.Duration
	rev  uint64
	sent time.Time // when the write that took the lease was sent
	// ours holds the values this holder wrote since its last confirmed one,
	// that one first: a record holding any of them is still this holder's.
	ours [][]byte
}

// LockInfo is the lock record: who leads.
type LockInfo struct {
	InstanceID string    `json:"instance_id"`
	Hostname   string    `json:"hostname"`
	PID        int       `json:"pid"`
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
}

func (l *lease) value(acquired time.Time) []byte {
	host, _ := os.Hostname()
	b, _ := json.Marshal(LockInfo{InstanceID: l.id, Hostname: host, PID: os.Getpid(), AcquiredAt: acquired, RenewedAt: time.Now().UTC()})
	return b
}

// acquire tries to take the lease; false means someone else holds it.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	sent := time.Now()
	v := l.value(sent.UTC())
	rev, err := l.kv.Create(ctx, leaderKey, v)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return l.reclaim(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("take scheduler lock: %w", err)
	}
	l.rev, l.sent, l.ours = rev, sent, [][]byte{v}
	return true, nil
}

// reclaim takes the lease back if the record still holds a value this holder
// wrote: it stepped down while the server still had it as leader (a renewal
// stored but answered too late, a release that failed). Without this, such a
// spurious step-down would leave the schedules without a leader until the
// lease expired. Nobody else can have taken a lease whose record is ours.
func (l *lease) reclaim(ctx context.Context) (bool, error) {
	e, err := l.kv.Get(ctx, leaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil // just expired or released: campaign again
	}
	if err != nil {
		return false, fmt.Errorf("read scheduler lock: %w", err)
	}
	mine := false
	for _, v := range l.ours {
		mine = mine || bytes.Equal(e.Value(), v)
	}
	if !mine {
		return false, nil
	}
	sent := time.Now()
	v := l.value(sent.UTC())
	rev, err := l.kv.Update(ctx, leaderKey, v, e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil // expired and taken meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("take back scheduler lock: %w", err)
	}
	l.rev, l.sent, l.ours = rev, sent, [][]byte{v}
	return true, nil
}

// renew extends the lease; an error means it is lost.
func (l *lease) renew(ctx context.Context, acquired time.Time) error {
	v := l.value(acquired)
	l.ours = append(l.ours, v) // stored or not: unknown until the answer comes
	rev, err := l.kv.Update(ctx, leaderKey, v, l.rev)
	if err != nil {
		return fmt.Errorf("renew scheduler lock: %w", err)
	}
	l.rev, l.ours = rev, [][]byte{v}
	return nil
}

// release gives the lease up at once, if it is still ours.
func (l *lease) release(ctx context.Context) error {
	if err := l.kv.Delete(ctx, leaderKey, jetstream.LastRevision(l.rev)); err != nil {
		return fmt.Errorf("release scheduler lock: %w", err)
	}
	return nil
}

// waitFree blocks until the lease is released or expires, or d passes.
func (l *lease) waitFree(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	w, err := l.kv.Watch(ctx, leaderKey, jetstream.UpdatesOnly())
	if err != nil {
		<-ctx.Done()
		return
	}
	defer func() { _ = w.Stop() }()
	// A lease released between our Create and this watch shows as no key.
	if _, err := l.kv.Get(ctx, leaderKey); errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				return
			}
		}
	}
}

// Leader returns the current lock record, or nil when nobody leads.
func Leader(ctx context.Context, kv jetstream.KeyValue) (*LockInfo, error) {
	e, err := kv.Get(ctx, leaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var li LockInfo
	if err := json.Unmarshal(e.Value(), &li); err != nil {
		return nil, fmt.Errorf("bad scheduler lock record: %w", err)
	}
	return &li, nil
}
