package worker

// Metrics: the worker's Prometheus counters and histograms, fed from its
// lifecycle events. Not here: the events themselves (observe.go).

import (
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/naqgo/naq"
)

// Metrics are a worker's Prometheus metrics (WithMetrics). Label values are
// bounded: queues are the worker's own, functions the registered handler
// names, any other name "other".
type Metrics struct {
	processed *prometheus.CounterVec   // queue, function, outcome: completed, failed, cancelled
	retries   *prometheus.CounterVec   // queue, function
	putBacks  *prometheus.CounterVec   // queue, reason: snoozed, shutdown
	malformed prometheus.Counter       // messages that are not jobs
	duration  *prometheus.HistogramVec // queue, function
	inFlight  *prometheus.GaugeVec     // queue
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("worker: WithMetrics needs a registerer")
	}
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "naq_worker_jobs_processed_total",
			Help: "Jobs whose final record was stored, by outcome (completed, failed, cancelled)."},
			[]string{"queue", "function", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "naq_worker_job_retries_total",
			Help: "Failed attempts put back to run again."}, []string{"queue", "function"}),
		putBacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "naq_worker_jobs_put_back_total",
			Help: "Jobs put back without counting an attempt, by reason (snoozed, shutdown, unrun)."},
			[]string{"queue", "reason"}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{Name: "naq_worker_malformed_messages_total",
			Help: "Messages that were not jobs, moved to naq_failed_jobs."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "naq_worker_job_duration_seconds",
			Help:    "How long handlers ran, per attempt.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300}}, []string{"queue", "function"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "naq_worker_jobs_in_flight",
			Help: "Handlers running now."}, []string{"queue"}),
	}
	var err error
	m.processed = register(reg, m.processed, &err)
	m.retries = register(reg, m.retries, &err)
	m.putBacks = register(reg, m.putBacks, &err)
	m.malformed = register(reg, m.malformed, &err)
	m.duration = register(reg, m.duration, &err)
	m.inFlight = register(reg, m.inFlight, &err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, or returns the collector already registered
// there under its name, so that workers of one process share their metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}

// count updates the counters an event stands for.
func (m *Metrics) count(e *naq.Event, queue, function string) {
	switch e.Type {
	case naq.EventCompleted:
		m.processed.WithLabelValues(queue, function, "completed").Inc()
	case naq.EventDeadLettered:
		m.processed.WithLabelValues(queue, function, "failed").Inc()
	case naq.EventCancelled:
		m.processed.WithLabelValues(queue, function, "cancelled").Inc()
	case naq.EventRetryScheduled:
		m.retries.WithLabelValues(queue, function).Inc()
	case naq.EventSnoozed:
		m.putBacks.WithLabelValues(queue, "snoozed").Inc()
	case naq.EventPutBack:
		m.putBacks.WithLabelValues(queue, e.Message).Inc()
	case naq.EventMalformed:
		m.malformed.Inc()
	}
}

// The series a job updates on every run (in flight, duration, completed) are
// looked up once per label pair and kept: WithLabelValues hashes and checks
// its values on every call, a few hundred nanoseconds a job. The label
// values are bounded (see observer.queue and observer.function), so the map
// is too. Readers take no lock: the map is replaced, never changed.
type seriesKind uint8

const (
	seriesInFlight seriesKind = iota
	seriesDuration
	seriesCompleted
)

type seriesKey struct {
	queue, function string
	kind            seriesKind
}

type seriesCache struct {
	m    *Metrics
	mu   sync.Mutex
	seen atomic.Pointer[map[seriesKey]any]
}

func (c *seriesCache) get(k seriesKey) any {
	if p := c.seen.Load(); p != nil {
		if s, ok := (*p)[k]; ok {
			return s
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.seen.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			return s
		}
	}
	var s any
	switch k.kind {
	case seriesInFlight:
		s = c.m.inFlight.WithLabelValues(k.queue)
	case seriesDuration:
		s = c.m.duration.WithLabelValues(k.queue, k.function)
	default:
		s = c.m.processed.WithLabelValues(k.queue, k.function, "completed")
	}
	next := make(map[seriesKey]any, 1)
	if old != nil {
		next = make(map[seriesKey]any, len(*old)+1)
		maps.Copy(next, *old)
	}
	next[k] = s
	c.seen.Store(&next)
	return s
}

func (c *seriesCache) inFlight(queue string) prometheus.Gauge {
	return c.get(seriesKey{queue: queue, kind: seriesInFlight}).(prometheus.Gauge)
}

func (c *seriesCache) duration(queue, function string) prometheus.Observer {
	return c.get(seriesKey{queue, function, seriesDuration}).(prometheus.Observer)
}

func (c *seriesCache) completed(queue, function string) prometheus.Counter {
	return c.get(seriesKey{queue, function, seriesCompleted}).(prometheus.Counter)
}
