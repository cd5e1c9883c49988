// Package naqprom exports the state of naq's queues as Prometheus gauges,
// read from JetStream when scraped: pending, running and redelivered jobs,
// the age of the oldest pending job, failed jobs per queue, delayed jobs,
// recurring schedules and live workers. Nothing is counted per job: the
// numbers are the server's. A small cache keeps a storm of scrapes from
// loading the server. `naq server --metrics` serves it; mount Handler (or
// register NewCollector) in a program of your own to serve it elsewhere.
// Worker-side counters come from worker.WithMetrics.
package naqprom

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/naqgo/naq/internal/layout"
)

// DefaultCacheTTL is how long a reading of the server serves scrapes.
const DefaultCacheTTL = 5 * time.Second

var (
	descPending = prometheus.NewDesc("naq_queue_pending_jobs",
		"Jobs waiting on the queue, not yet delivered to a worker.", []string{"queue"}, nil)
	descRunning = prometheus.NewDesc("naq_queue_running_jobs",
		"Jobs delivered and not yet answered (running, or put back waiting for a retry).", []string{"queue"}, nil)
	descRedelivered = prometheus.NewDesc("naq_queue_redelivered_jobs",
		"Jobs delivered more than once and not yet answered.", []string{"queue"}, nil)
	descOldest = prometheus.NewDesc("naq_queue_oldest_pending_job_age_seconds",
		"Age of the oldest job not yet delivered (0 when none waits).", []string{"queue"}, nil)
	descFailed = prometheus.NewDesc("naq_failed_jobs",
		"Records in naq_failed_jobs, by queue.", []string{"queue"}, nil)
	descDelayed = prometheus.NewDesc("naq_delayed_jobs",
		"Jobs waiting for their time (enqueue_at/in, long retries).", nil, nil)
	descSchedules = prometheus.NewDesc("naq_schedules",
		"Recurring and one-off schedules in naq_scheduled_jobs.", nil, nil)
	descWorkers = prometheus.NewDesc("naq_workers",
		"Worker records in naq_workers (a worker's record expires three heartbeats after it died).", nil, nil)
	descUp = prometheus.NewDesc("naq_up",
		"1 when the last reading of the server succeeded.", nil, nil)
)

// Collector reads naq's state from JetStream for each scrape, at most once
// per cache TTL.
type Collector struct {
	js  jetstream.JetStream
	ttl time.Duration
	log *slog.Logger

	mu    sync.Mutex
	at    time.Time
	cache []prometheus.Metric
}

// Option configures NewCollector.
type Option func(*Collector)

// WithCacheTTL serves scrapes from one reading for d (default 5 s).
func WithCacheTTL(d time.Duration) Option { return func(c *Collector) { c.ttl = d } }

// WithLogger logs failed readings to l (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Collector) { c.log = l } }

// NewCollector returns a collector reading through js.
func NewCollector(js jetstream.JetStream, opts ...Option) *Collector {
	c := &Collector{js: js, ttl: DefaultCacheTTL, log: slog.Default()}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Handler serves the collector's gauges (and nothing else) over HTTP.
func Handler(js jetstream.JetStream, opts ...Option) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(js, opts...))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Describe sends the descriptions of every gauge.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPending, descRunning, descRedelivered, descOldest, descFailed,
		descDelayed, descSchedules, descWorkers, descUp} {
		ch <- d
	}
}

// Collect sends the gauges of the latest reading, reading again when it is
// older than the cache TTL. Concurrent scrapes share one reading.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil || time.Since(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ms, err := c.read(ctx)
		cancel()
		up := 1.0
		if err != nil {
			c.log.Warn("could not read naq's state for metrics", "err", err)
			up = 0
		}
		c.cache = append(ms, prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up))
		c.at = time.Now()
	}
	for _, m := range c.cache {
		ch <- m
	}
}

// read takes one reading; on an error it returns what it read before.
func (c *Collector) read(ctx context.Context) ([]prometheus.Metric, error) {
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	jobs, err := c.js.Stream(ctx, layout.JobsStream)
	if err != nil {
		return out, err
	}
	// Queues by subject; delayed jobs (one subject each, perhaps millions)
	// are the rest of the stream.
	info, err := jobs.Info(ctx, jetstream.WithSubjectFilter(layout.JobsSubjectPrefix+"*"))
	if err != nil {
		return out, err
	}
	var queued uint64
	waiting := map[string]uint64{} // messages by queue, for queues without a consumer
	for subj, n := range info.State.Subjects {
		if q, ok := strings.CutPrefix(subj, layout.JobsSubjectPrefix); ok {
			waiting[q] = n
			queued += n
		}
	}
	gauge(descDelayed, float64(info.State.Msgs-min(queued, info.State.Msgs)))
	seen := map[string]bool{}
	lister := jobs.ListConsumers(ctx)
	for ci := range lister.Info() {
		q, ok := strings.CutPrefix(ci.Name, layout.ConsumerPrefix)
		if !ok || layout.ValidateQueue(q) != nil || ci.Config.FilterSubject != layout.QueueSubject(q) {
			continue
		}
		seen[q] = true
		gauge(descPending, float64(ci.NumPending), q)
		gauge(descRunning, float64(ci.NumAckPending), q)
		gauge(descRedelivered, float64(ci.NumRedelivered), q)
		var age float64
		if ci.NumPending > 0 {
			age = c.oldest(ctx, jobs, q, ci.Delivered.Stream+1)
		}
		gauge(descOldest, age, q)
	}
	if err := lister.Err(); err != nil {
		return out, err
	}
	for q, n := range waiting {
		if seen[q] {
			continue
		}
		// No worker ever consumed this queue: every message waits.
		gauge(descPending, float64(n), q)
		gauge(descRunning, 0, q)
		gauge(descRedelivered, 0, q)
		gauge(descOldest, c.oldest(ctx, jobs, q, 1), q)
	}
	if failed, err := c.js.Stream(ctx, layout.FailedStream); err == nil {
		fi, err := failed.Info(ctx, jetstream.WithSubjectFilter(layout.FailedSubjectPrefix+"*"))
		if err != nil {
			return out, err
		}
		for subj, n := range fi.State.Subjects {
			gauge(descFailed, float64(n), strings.TrimPrefix(subj, layout.FailedSubjectPrefix))
		}
	}
	gauge(descSchedules, c.bucketSize(ctx, layout.SchedulesBucket))
	gauge(descWorkers, c.bucketSize(ctx, layout.WorkersBucket))
	return out, nil
}

// oldest is the age of queue q's first message at or after seq.
func (c *Collector) oldest(ctx context.Context, s jetstream.Stream, q string, seq uint64) float64 {
	m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(layout.QueueSubject(q)))
	if err != nil {
		return 0
	}
	return max(time.Since(m.Time).Seconds(), 0)
}

// bucketSize counts the keys of a KV bucket (0 when it does not exist).
func (c *Collector) bucketSize(ctx context.Context, bucket string) float64 {
	kv, err := c.js.KeyValue(ctx, bucket)
	if err != nil {
		return 0
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return 0
	}
	n := 0
	for range lister.Keys() {
		n++
	}
	return float64(n)
}
