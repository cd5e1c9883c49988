package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// The floors are bare JetStream doing the least that naq's guarantees need:
// an enqueue carries a Nats-Msg-Id (retries never duplicate a job), and a
// processed job has one write stored before its ack (its result). They show
// how much of the gap to the raw baseline is the guarantee and how much is
// naq's own code.
const (
	EnqueueFloor = "enqueue-floor"
	BulkFloor    = "bulk-floor"
	ProcessFloor = "process-floor"
	floorBucket  = "bench_floor"
)

// floorBulk publishes N raw messages asynchronously as rawPublishAsync does,
// each with a Nats-Msg-Id of its own, and waits for every ack: the least a
// bulk enqueue that is safe to retry costs. The messages stay for
// floorProcess, as naq's bulk jobs stay for its process line.
func (e *env) floorBulk(ctx context.Context) (run, error) {
	opts := e.floorIDs()
	r, err := e.publishAsync(ctx, func(i int) []jetstream.PublishOpt { return opts[i] })
	if err != nil {
		return run{}, err
	}
	return r, e.expect(ctx, e.raw, e.cfg.Jobs)
}

// floorIDs returns N publish options, each a Nats-Msg-Id unique across
// rounds (inside the dedup window). They are made before the clock starts,
// as the raw side's payload is: the floor times the publishes, not the
// building of their options.
func (e *env) floorIDs() [][]jetstream.PublishOpt {
	e.floorRuns++
	prefix := "bulk-floor-" + strconv.Itoa(e.floorRuns) + "-"
	opts := make([][]jetstream.PublishOpt, e.cfg.Jobs)
	for i := range opts {
		opts[i] = []jetstream.PublishOpt{jetstream.WithMsgID(prefix + strconv.Itoa(i))}
	}
	return opts
}

// fillFloor stores what floorBulk stores, untimed: N messages with ids.
func (e *env) fillFloor(ctx context.Context) error {
	_, err := e.floorBulk(ctx)
	return err
}

// floorProcess consumes the N messages floorBulk stored as rawConsume does,
// but stores one record per message in a KV bucket and acks only once it is
// stored. The messages carry their enqueue's id, as naq's jobs do: the
// server stores and delivers that header with each. The record is what a
// worker stores for the job, a completed result, under a job id as naq makes
// them: the server's cost of a write depends on both.
func (e *env) floorProcess(ctx context.Context) (run, error) {
	record, keys, err := e.floorPrepare(ctx)
	if err != nil {
		return run{}, err
	}
	return e.floorConsume(ctx, record, keys)
}

// floorPrepare makes the floor's record, its N keys and its bucket.
func (e *env) floorPrepare(ctx context.Context) (record []byte, keys []string, err error) {
	if record, err = sampleResult(); err != nil {
		return nil, nil, err
	}
	keys = make([]string, e.cfg.Jobs)
	for i := range keys {
		j, err := naq.NewJob(jobName, nil)
		if err != nil {
			return nil, nil, err
		}
		keys[i] = "$KV." + floorBucket + "." + j.ID
	}
	_, err = e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: floorBucket, TTL: layout.DefaultResultTTL})
	return record, keys, err
}

// fillRaw publishes N copies of the payload to the raw stream and waits for
// every ack.
func (e *env) fillRaw(ctx context.Context) error {
	for range e.cfg.Jobs {
		if err := e.publishRaw(nil); err != nil {
			return err
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// floorConsume is floorProcess's timed part, on a raw stream already filled.
func (e *env) floorConsume(ctx context.Context, record []byte, keys []string) (run, error) {
	n := e.cfg.Jobs
	const maxAckPending = 10000
	c, err := e.raw.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: rawDurable, FilterSubject: rawSubject, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: layout.DefaultAckWait, MaxAckPending: maxAckPending, MaxDeliver: -1,
	})
	if err != nil {
		return run{}, err
	}
	// Room for a write per unacknowledged message: with the default 4,000,
	// writes past it were refused and their messages put back, which once
	// stalled a run for the 30 s of a pull request.
	records, err := jetstream.New(e.js.Conn(), jetstream.WithPublishAsyncMaxPending(2*maxAckPending))
	if err != nil {
		return run{}, err
	}
	type pending struct {
		f jetstream.PubAckFuture
		m jetstream.Msg
	}
	acks := make(chan pending, 4096)
	ackerDone := make(chan struct{})
	var acked atomic.Int64
	go func() { // acks in arrival order once each record is stored
		defer close(ackerDone)
		for p := range acks {
			select {
			case <-p.f.Ok():
				_ = p.m.Ack()
				acked.Add(1)
			case <-p.f.Err():
				_ = p.m.Nak()
			}
		}
	}()
	t := startTimer()
	i := 0
	cc, err := c.Consume(func(m jetstream.Msg) {
		key := keys[i%n]
		i++
		f, err := records.PublishMsgAsync(&nats.Msg{Subject: key, Data: record})
		if err != nil {
			_ = m.Nak() // (too many writes pending) back at once, not after the ack wait
			return
		}
		acks <- pending{f, m}
	})
	if err != nil {
		return run{}, err
	}
	err = waitUntil(ctx, e.timeout(), &acked, n, func() (bool, error) {
		msgs, err := streamMsgs(ctx, e.raw)
		return msgs == 0, err
	})
	r := t.stop(n)
	cc.Stop()
	<-cc.Closed()
	close(acks)
	<-ackerDone
	if err != nil {
		return run{}, fmt.Errorf("waiting for the floor run to empty the raw stream: %w", err)
	}
	if err := e.raw.DeleteConsumer(ctx, rawDurable); err != nil {
		return run{}, err
	}
	return r, e.js.DeleteKeyValue(ctx, floorBucket)
}

// sampleResult is the result record a worker stores for the benchmark's job.
func sampleResult() ([]byte, error) {
	j, err := naq.NewJob(jobName, sampleArgs, naq.Queue(queue))
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	res := &naq.Result{
		Status: naq.StateCompleted, JobID: j.ID, Name: j.Name, Queue: j.Queue, Attempts: 1,
		WorkerID: "naqbench-host-12345-" + randomHex()[:6], EnqueuedAt: j.EnqueuedAt, StartedAt: now, FinishedAt: now,
	}
	return res.MarshalJSON()
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publishRaw publishes the payload to the raw stream asynchronously. A
// publish that stalls because the server is behind (a loaded machine) waits
// for room again, as a program would, rather than ending the run.
func (e *env) publishRaw(opts []jetstream.PublishOpt) error {
	for {
		_, err := e.js.PublishAsync(rawSubject, e.payload, opts...)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
	}
}
