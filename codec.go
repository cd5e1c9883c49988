package naq

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/naqgo/naq/internal/jsonscan"
	"github.com/naqgo/naq/internal/layout"
)

// wireJob is naq's JSON job envelope as Python naq writes it. Pointers tell an
// absent or null field (which takes naq's default) from a zero value.
type wireJob struct {
	JobID         *string
	EnqueueTime   *float64
	Function      *string
	Args          []json.RawMessage
	Kwargs        map[string]json.RawMessage
	MaxRetries    *int
	RetryDelay    []float64
	RetryStrategy *string
	RetryOn       []string
	IgnoreOn      []string
	QueueName     *string
	DependsOn     []string
	ResultTTL     *float64
	Timeout       *float64
}

// DecodeJob parses one wire job, filling naq's defaults for absent fields and
// ignoring unknown ones. Any other deviation returns an error wrapping
// ErrMalformedJob. It scans the envelope by hand: it is on every job's path.
func DecodeJob(data []byte) (*Job, error) {
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
	j, err := w.job()
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
			w.JobID = nil
		case "function":
			w.Function = nil
		}
		return nil
	}
	var err error
	switch string(key) {
	case "job_id":
		w.JobID, err = strPtr(sc.StringOf())
	case "function":
		w.Function, err = strPtr(sc.StringOf())
	case "queue_name":
		w.QueueName, err = strPtr(sc.StringOf())
	case "retry_strategy":
		w.RetryStrategy, err = strPtr(sc.StringOf())
	case "enqueue_time":
		w.EnqueueTime, err = numPtr(sc.Number())
	case "result_ttl":
		w.ResultTTL, err = numPtr(sc.Number())
	case "timeout":
		w.Timeout, err = numPtr(sc.Number())
	case "max_retries":
		var n int
		if n, err = sc.Int(); err == nil {
			w.MaxRetries = &n
		}
	case "args":
		if sc.Peek() != '[' {
			return fmt.Errorf("%w: want an array", jsonscan.ErrType)
		}
		w.Args = []json.RawMessage{}
		err = sc.Array(func() error {
			raw, err := sc.Raw()
			w.Args = append(w.Args, raw)
			return err
		})
	case "kwargs":
		if sc.Peek() != '{' {
			return fmt.Errorf("%w: want an object", jsonscan.ErrType)
		}
		w.Kwargs = map[string]json.RawMessage{}
		err = sc.Object(func(k string) error {
			raw, err := sc.Raw()
			w.Kwargs[k] = raw
			return err
		})
	case "retry_delay":
		if sc.Peek() != '[' {
			var f float64
			if f, err = sc.Number(); err != nil {
				return fmt.Errorf("want a number or an array of numbers: %w", err)
			}
			w.RetryDelay = []float64{f}
			return nil
		}
		w.RetryDelay = []float64{}
		err = sc.Array(func() error {
			f, err := sc.Number()
			w.RetryDelay = append(w.RetryDelay, f)
			return err
		})
	case "retry_on":
		w.RetryOn, err = sc.Strings()
	case "ignore_on":
		w.IgnoreOn, err = sc.Strings()
	case "depends_on":
		if sc.Peek() == '"' {
			var id string
			id, err = sc.String()
			w.DependsOn = []string{id}
			return err
		}
		w.DependsOn, err = sc.Strings()
	default:
		_, err = sc.Raw() // unknown fields are ignored
	}
	return err
}

func strPtr(s string, err error) (*string, error) {
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func numPtr(f float64, err error) (*float64, error) {
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func (w *wireJob) job() (*Job, error) {
	if w.Function == nil || *w.Function == "" {
		return nil, fmt.Errorf(`missing "function" (the job's name)`)
	}
	if w.JobID == nil {
		return nil, fmt.Errorf(`missing "job_id"`)
	}
	if err := layout.ValidateJobID(*w.JobID); err != nil {
		return nil, err
	}
	j := &Job{
		ID:            *w.JobID,
		Name:          *w.Function,
		Args:          w.Args,
		Kwargs:        w.Kwargs,
		Queue:         DefaultQueue,
		EnqueuedAt:    time.Now().UTC(),
		RetryStrategy: Linear,
		RetryOn:       w.RetryOn,
		IgnoreOn:      w.IgnoreOn,
		DependsOn:     []string(w.DependsOn),
	}
	if j.Args == nil {
		j.Args = []json.RawMessage{}
	}
	if j.Kwargs == nil {
		j.Kwargs = map[string]json.RawMessage{}
	}
	if j.DependsOn == nil {
		j.DependsOn = []string{}
	}
	if w.EnqueueTime != nil {
		j.EnqueuedAt = fromUnix(*w.EnqueueTime)
	}
	if w.QueueName != nil {
		if err := layout.ValidateQueue(*w.QueueName); err != nil {
			return nil, err
		}
		j.Queue = *w.QueueName
	}
	if w.MaxRetries != nil {
		if *w.MaxRetries < 0 {
			return nil, fmt.Errorf("max_retries %d: must not be negative", *w.MaxRetries)
		}
		j.MaxRetries = *w.MaxRetries
	}
	j.RetryDelay = []time.Duration{0}
	if len(w.RetryDelay) > 0 {
		j.RetryDelay = make([]time.Duration, len(w.RetryDelay))
		for i, s := range w.RetryDelay {
			if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("retry_delay %v: must be a non-negative number of seconds", s)
			}
			j.RetryDelay[i] = seconds(s)
		}
	}
	if w.RetryStrategy != nil {
		s, err := ParseRetryStrategy(*w.RetryStrategy)
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
	if w.ResultTTL != nil {
		if *w.ResultTTL < 0 {
			return nil, fmt.Errorf("result_ttl %v: must not be negative", *w.ResultTTL)
		}
		j.ResultTTL = seconds(*w.ResultTTL)
	}
	if w.Timeout != nil {
		if *w.Timeout < 0 {
			return nil, fmt.Errorf("timeout %v: must not be negative", *w.Timeout)
		}
		j.Timeout = seconds(*w.Timeout)
	}
	return j, nil
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

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

func fromUnix(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

func toUnix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
