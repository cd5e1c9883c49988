package naq

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/naqgo/naq/internal/jsonscan"
	"github.com/naqgo/naq/internal/layout"
)

// wireJob is naq's JSON job envelope as Python naq writes it. opt tells an
// absent or null field (which takes naq's default) from a zero value.
type wireJob struct {
	JobID         opt[string]
	EnqueueTime   opt[float64]
	Function      opt[string]
	args, kwargs  members
	MaxRetries    opt[int]
	RetryDelay    []float64    // retry_delay as a list
	RetryDelayOne opt[float64] // retry_delay as one number, the usual form
	RetryStrategy opt[string]
	RetryOn       []string
	IgnoreOn      []string
	QueueName     opt[string]
	DependsOn     []string
	ResultTTL     opt[float64]
	Timeout       opt[float64]
	// naq-go's flow-control fields, absent from Python's jobs.
	UniqueKey, UniqueScope, RateKey string
	WorkflowID                      string
	AllowFailed                     bool

	// The plain texts of job_id, function and queue_name, still in the
	// input: job makes them in one allocation (texts).
	idText, functionText, queueText []byte
}

// opt is a value that may be absent.
type opt[T any] struct {
	v  T
	ok bool
}

func some[T any](v T, err error) (opt[T], error) { return opt[T]{v, err == nil}, err }

// DecodeJob parses one wire job, filling naq's defaults for absent fields and
// ignoring unknown ones. Any other deviation returns an error wrapping
// ErrMalformedJob. It scans the envelope by hand: it is on every job's path.
func DecodeJob(data []byte) (*Job, error) { return decodeJob(data, DefaultQueue) }

// DecodeJobFromSubject decodes a job delivered on subject, naq.queue.<queue>:
// a body without queue_name belongs to that queue, not to the default one, so
// its status, result, failure record and retries stay on the queue it was
// published to. Any other subject leaves the default queue.
func DecodeJobFromSubject(subject string, data []byte) (*Job, error) {
	return decodeJob(data, SubjectQueue(subject))
}

// SubjectQueue is the queue of a job subject naq.queue.<queue>, or
// DefaultQueue when subject is not one.
func SubjectQueue(subject string) string {
	q, ok := strings.CutPrefix(subject, layout.JobsSubjectPrefix)
	if !ok || layout.ValidateQueue(q) != nil {
		return DefaultQueue
	}
	return q
}

func decodeJob(data []byte, queue string) (*Job, error) {
	var w wireJob
	sc := jsonscan.New(data)
	err := sc.ObjectBytes(func(key []byte) error {
		if err := w.member(sc, key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err == nil {
		err = sc.End()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJob, err)
	}
	j, err := w.job(queue)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJob, err)
	}
	return j, nil
}

// member decodes one field of the envelope; null leaves it unset.
func (w *wireJob) member(sc *jsonscan.Scanner, key []byte) error {
	if sc.Null() {
		switch string(key) {
		case "job_id":
			w.JobID.ok = false
		case "function":
			w.Function.ok = false
		case "queue_name":
			w.QueueName.ok = false
		}
		return nil
	}
	var err error
	switch string(key) {
	case "job_id":
		w.idText, w.JobID.ok, err = textOf(sc)
	case "function":
		w.functionText, w.Function.ok, err = textOf(sc)
	case "queue_name":
		w.queueText, w.QueueName.ok, err = textOf(sc)
	case "retry_strategy":
		var b []byte
		b, err = sc.StringBytes()
		w.RetryStrategy = opt[string]{strategyName(b), err == nil}
	case "enqueue_time":
		w.EnqueueTime, err = some(sc.Number())
	case "result_ttl":
		w.ResultTTL, err = some(sc.Number())
	case "timeout":
		w.Timeout, err = some(sc.Number())
	case "max_retries":
		w.MaxRetries, err = some(sc.Int())
	case "args":
		if sc.Peek() != '[' {
			return fmt.Errorf("%w: want an array", jsonscan.ErrType)
		}
		w.args.reset()
		err = sc.Array(func() error {
			raw, err := sc.Raw()
			w.args.add(nil, raw)
			return err
		})
	case "kwargs":
		if sc.Peek() != '{' {
			return fmt.Errorf("%w: want an object", jsonscan.ErrType)
		}
		w.kwargs.reset()
		err = sc.ObjectBytes(func(k []byte) error {
			raw, err := sc.Raw()
			w.kwargs.add(k, raw)
			return err
		})
	case "retry_delay":
		if sc.Peek() != '[' {
			var f float64
			if f, err = sc.Number(); err != nil {
				return fmt.Errorf("want a number or an array of numbers: %w", err)
			}
			w.RetryDelay, w.RetryDelayOne = nil, opt[float64]{f, true}
			return nil
		}
		w.RetryDelay, w.RetryDelayOne = []float64{}, opt[float64]{}
		err = sc.Array(func() error {
			f, err := sc.Number()
			w.RetryDelay = append(w.RetryDelay, f)
			return err
		})
	case "retry_on":
		w.RetryOn, err = sc.Strings()
	case "ignore_on":
		w.IgnoreOn, err = sc.Strings()
	case "unique_key":
		w.UniqueKey, err = sc.String()
	case "unique_scope":
		w.UniqueScope, err = sc.String()
	case "rate_key":
		w.RateKey, err = sc.String()
	case "depends_on":
		if sc.Peek() == '"' {
			var id string
			id, err = sc.String()
			w.DependsOn = []string{id}
			return err
		}
		w.DependsOn, err = sc.Strings()
	case "workflow_id":
		w.WorkflowID, err = sc.String()
	case "allow_failed_dependencies":
		w.AllowFailed, err = sc.Bool()
	default:
		_, err = sc.Raw() // unknown fields are ignored
	}
	return err
}

// textOf consumes a string value as text, valid only while the input is.
func textOf(sc *jsonscan.Scanner) ([]byte, bool, error) {
	if sc.Peek() != '"' {
		return nil, false, fmt.Errorf("%w: want a string", jsonscan.ErrType)
	}
	b, err := sc.StringBytes()
	return b, err == nil, err
}

func (w *wireJob) job(queue string) (*Job, error) {
	kwargsAt, all := w.texts()
	if !w.Function.ok || w.Function.v == "" {
		return nil, fmt.Errorf(`missing "function" (the job's name)`)
	}
	if !w.JobID.ok {
		return nil, fmt.Errorf(`missing "job_id"`)
	}
	if err := layout.ValidateJobID(w.JobID.v); err != nil {
		return nil, err
	}
	j := &Job{
		ID:            w.JobID.v,
		Name:          w.Function.v,
		Args:          w.args.args(),
		Kwargs:        w.kwargs.kwargs(all, kwargsAt),
		Queue:         queue,
		RetryStrategy: Linear,
		RetryOn:       w.RetryOn,
		IgnoreOn:      w.IgnoreOn,
		DependsOn:     []string(w.DependsOn),
	}
	if j.DependsOn == nil {
		j.DependsOn = []string{}
	}
	if w.EnqueueTime.ok {
		if t := w.EnqueueTime.v; !(t >= 0 && t <= maxUnixTime) { // NaN fails both
			return nil, fmt.Errorf("enqueue_time %v: must be seconds since 1970, before the year 10000", t)
		}
		j.EnqueuedAt = fromUnix(w.EnqueueTime.v)
	} else {
		j.EnqueuedAt = time.Now().UTC()
	}
	if w.QueueName.ok {
		if err := layout.ValidateQueue(w.QueueName.v); err != nil {
			return nil, err
		}
		j.Queue = w.QueueName.v
	}
	if w.MaxRetries.ok {
		if w.MaxRetries.v < 0 {
			return nil, fmt.Errorf("max_retries %d: must not be negative", w.MaxRetries.v)
		}
		j.MaxRetries = w.MaxRetries.v
	}
	delays := w.RetryDelay
	if w.RetryDelayOne.ok {
		one := [1]float64{w.RetryDelayOne.v}
		delays = one[:]
	}
	j.RetryDelay = j.oneDelay[:] // the usual single delay: no allocation of its own
	if len(delays) > 1 {
		j.RetryDelay = make([]time.Duration, len(delays))
	}
	for i, s := range delays {
		if s < 0 || s > maxSeconds || math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("retry_delay %v: must be a number of seconds from 0 to about 292 years", s)
		}
		j.RetryDelay[i] = seconds(s)
	}
	if w.RetryStrategy.ok {
		s, err := ParseRetryStrategy(w.RetryStrategy.v)
		if err != nil {
			return nil, err
		}
		j.RetryStrategy = s
	}
	for _, id := range j.DependsOn {
		if err := layout.ValidateJobID(id); err != nil {
			return nil, fmt.Errorf("depends_on: %w", err)
		}
	}
	if w.UniqueKey != "" || w.UniqueScope != "" || w.RateKey != "" {
		if err := w.flowControl(j); err != nil {
			return nil, err
		}
	}
	if w.WorkflowID != "" || w.AllowFailed {
		if w.WorkflowID != "" {
			if err := layout.ValidateJobID(w.WorkflowID); err != nil {
				return nil, fmt.Errorf("workflow_id: %w", err)
			}
		}
		j.Workflow = &WorkflowLink{ID: w.WorkflowID, AllowFailedDependencies: w.AllowFailed}
	}
	if w.ResultTTL.ok {
		if v := w.ResultTTL.v; v < 0 || v > maxSeconds || v > 0 && v < 1 {
			return nil, fmt.Errorf("result_ttl %v: must be 0 (the default) or a number of seconds from 1 to about 292 years", v)
		}
		j.ResultTTL = seconds(w.ResultTTL.v)
	}
	if w.Timeout.ok {
		if w.Timeout.v < 0 || w.Timeout.v > maxSeconds {
			return nil, fmt.Errorf("timeout %v: must be a number of seconds from 0 to about 292 years", w.Timeout.v)
		}
		j.Timeout = seconds(w.Timeout.v)
	}
	return j, nil
}

// strategyName is b as a string, without allocating for the known strategies.
func strategyName(b []byte) string {
	switch {
	case strings.EqualFold(string(b), string(Linear)):
		return string(Linear)
	case strings.EqualFold(string(b), string(Exponential)):
		return string(Exponential)
	}
	return string(b)
}

// ParseRetryStrategy accepts "linear" or "exponential" in any case.
func ParseRetryStrategy(s string) (RetryStrategy, error) {
	switch RetryStrategy(strings.ToLower(s)) {
	case Linear:
		return Linear, nil
	case Exponential:
		return Exponential, nil
	}
	return "", fmt.Errorf("retry_strategy %q: want \"linear\" or \"exponential\"", s)
}

// seconds rounds to the nearest nanosecond: truncating would turn 1.533 s into
// 1.532999999 s, so a duration would not survive an encode/decode round trip.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// maxUnixTime is the last second of the year 9999, the latest time every
// record's RFC 3339 text can hold.
const maxUnixTime = 253402300799

// maxSeconds is the longest duration a time.Duration holds (about 292 years).
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

func fromUnix(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

func toUnix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	if s := t.Unix(); s >= math.MaxInt64/int64(time.Second) || s <= math.MinInt64/int64(time.Second) {
		// UnixNano would wrap (after 2262): whole seconds and the fraction.
		return float64(s) + float64(t.Nanosecond())/1e9
	}
	return float64(t.UnixNano()) / 1e9
}
