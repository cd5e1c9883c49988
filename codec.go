package naq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/naqgo/naq/internal/layout"
)

// wireJob is naq's JSON job envelope as Python naq writes it. Pointers tell an
// absent or null field (which takes naq's default) from a zero value.
type wireJob struct {
	JobID         *string                    `json:"job_id"`
	EnqueueTime   *float64                   `json:"enqueue_time"`
	Function      *string                    `json:"function"`
	Args          []json.RawMessage          `json:"args"`
	Kwargs        map[string]json.RawMessage `json:"kwargs"`
	MaxRetries    *int                       `json:"max_retries"`
	RetryDelay    wireDelay                  `json:"retry_delay"`
	RetryStrategy *string                    `json:"retry_strategy"`
	RetryOn       []string                   `json:"retry_on"`
	IgnoreOn      []string                   `json:"ignore_on"`
	QueueName     *string                    `json:"queue_name"`
	DependsOn     wireIDs                    `json:"depends_on"`
	ResultTTL     *float64                   `json:"result_ttl"`
	Timeout       *float64                   `json:"timeout"`
}

// wireDelay is retry_delay: a number of seconds or an array of them.
type wireDelay []float64

func (d *wireDelay) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var s []float64
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("retry_delay: want a number or an array of numbers: %w", err)
		}
		*d = s
		return nil
	}
	if string(b) == "null" {
		*d = nil
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("retry_delay: want a number or an array of numbers: %w", err)
	}
	*d = wireDelay{f}
	return nil
}

// wireIDs is depends_on: an array of job ids (a single id is accepted too).
type wireIDs []string

func (w *wireIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*w = wireIDs{s}
		return nil
	}
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("depends_on: want an array of job ids: %w", err)
	}
	*w = s
	return nil
}

// DecodeJob parses one wire job, filling naq's defaults for absent fields and
// ignoring unknown ones. Any other deviation returns an error wrapping
// ErrMalformedJob.
func DecodeJob(data []byte) (*Job, error) {
	var w wireJob
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJob, err)
	}
	j, err := w.job()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJob, err)
	}
	return j, nil
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

// encodedJob is the envelope naq-go writes: every field Python naq writes, in
// its order, so Python naq decodes it.
type encodedJob struct {
	JobID         string                     `json:"job_id"`
	EnqueueTime   float64                    `json:"enqueue_time"`
	Function      string                     `json:"function"`
	Args          []json.RawMessage          `json:"args"`
	Kwargs        map[string]json.RawMessage `json:"kwargs"`
	MaxRetries    int                        `json:"max_retries"`
	RetryDelay    any                        `json:"retry_delay"`
	QueueName     string                     `json:"queue_name"`
	DependsOn     []string                   `json:"depends_on"`
	ResultTTL     *float64                   `json:"result_ttl"`
	Timeout       *float64                   `json:"timeout"`
	RetryStrategy RetryStrategy              `json:"retry_strategy"`
	RetryOn       []string                   `json:"retry_on"`
	IgnoreOn      []string                   `json:"ignore_on"`
}

// Encode returns the job's wire JSON.
func (j *Job) Encode() ([]byte, error) {
	e := encodedJob{
		JobID:         j.ID,
		EnqueueTime:   toUnix(j.EnqueuedAt),
		Function:      j.Name,
		Args:          j.Args,
		Kwargs:        j.Kwargs,
		MaxRetries:    j.MaxRetries,
		QueueName:     j.Queue,
		DependsOn:     j.DependsOn,
		RetryStrategy: j.RetryStrategy,
		RetryOn:       j.RetryOn,
		IgnoreOn:      j.IgnoreOn,
	}
	if e.Args == nil {
		e.Args = []json.RawMessage{}
	}
	if e.Kwargs == nil {
		e.Kwargs = map[string]json.RawMessage{}
	}
	if e.DependsOn == nil {
		e.DependsOn = []string{}
	}
	if e.QueueName == "" { // a job from NewJob not yet given a queue
		e.QueueName = DefaultQueue
	}
	if e.RetryStrategy == "" {
		e.RetryStrategy = Linear
	}
	switch len(j.RetryDelay) {
	case 0:
		e.RetryDelay = 0
	case 1:
		e.RetryDelay = j.RetryDelay[0].Seconds()
	default:
		s := make([]float64, len(j.RetryDelay))
		for i, d := range j.RetryDelay {
			s[i] = d.Seconds()
		}
		e.RetryDelay = s
	}
	if j.ResultTTL > 0 {
		e.ResultTTL = ptr(j.ResultTTL.Seconds())
	}
	if j.Timeout > 0 {
		e.Timeout = ptr(j.Timeout.Seconds())
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return b, nil
}

func ptr[T any](v T) *T { return &v }

// seconds rounds to the nearest nanosecond: truncating would turn 1.533 s into
// 1.532999999 s, so a duration would not survive an encode/decode round trip.
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
