package bench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
)

// The floors are bare JetStream doing the least that naq's guarantees need:
// an enqueue carries a Nats-Msg-Id (retries never duplicate a job), and a
// processed job has one write stored before its ack (its result). They show
// how much of the gap to the raw baseline is the guarantee and how much is
// naq's own code.
const (
	EnqueueFloor = "enqueue-floor"
	ProcessFloor = "process-floor"
	floorBucket  = "bench_floor"
)

// floorProcess consumes N raw messages as rawConsume does, but stores one
// 250-byte record per message in a KV bucket and acks only once it is stored.
func (e *env) floorProcess(ctx context.Context) (run, error) {
	n := e.cfg.Jobs
	_, err := e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: floorBucket, TTL: layout.DefaultResultTTL})
	if err != nil {
		return run{}, err
	}
	for range n {
		if _, err := e.js.PublishAsync(rawSubject, e.payload); err != nil {
			return run{}, err
		}
	}
	<-e.js.PublishAsyncComplete()
	c, err := e.raw.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: rawDurable, FilterSubject: rawSubject, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, AckWait: layout.DefaultAckWait, MaxAckPending: 10000, MaxDeliver: -1,
	})
	if err != nil {
		return run{}, err
	}
	record := make([]byte, 250)
	type pending struct {
		f jetstream.PubAckFuture
		m jetstream.Msg
	}
	acks := make(chan pending, 4096)
	acked := make(chan struct{})
	go func() { // acks in arrival order once each record is stored
		defer close(acked)
		for p := range acks {
			select {
			case <-p.f.Ok():
				_ = p.m.Ack()
			case <-p.f.Err():
			}
		}
	}()
	t := startTimer()
	i := 0
	cc, err := c.Consume(func(m jetstream.Msg) {
		i++
		f, err := e.js.PublishMsgAsync(&nats.Msg{Subject: "$KV." + floorBucket + ".k" + strconv.Itoa(i), Data: record})
		if err == nil {
			acks <- pending{f, m}
		}
	})
	if err != nil {
		return run{}, err
	}
	err = waitUntil(ctx, e.timeout(), func() (bool, error) {
		msgs, err := streamMsgs(ctx, e.raw)
		return msgs == 0, err
	})
	r := t.stop(n)
	cc.Stop()
	<-cc.Closed()
	close(acks)
	<-acked
	if err != nil {
		return run{}, fmt.Errorf("waiting for the floor run to empty the raw stream: %w", err)
	}
	if err := e.raw.DeleteConsumer(ctx, rawDurable); err != nil {
		return run{}, err
	}
	return r, e.js.DeleteKeyValue(ctx, floorBucket)
}
