package naq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/naqgo/naq/internal/jsonscan"
)

// Encode returns the job's wire JSON: every field Python naq writes, in its
// order, so Python naq decodes it. It appends by hand: it is on every
// enqueue's path.
func (j *Job) Encode() ([]byte, error) {
	b, err := j.appendEncoding(make([]byte, 0, 320+len(j.ID)+len(j.Name)+j.argumentsSize()))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// appendEncoding appends the job's wire JSON to b; on an error it returns b
// as it came.
func (j *Job) appendEncoding(b []byte) ([]byte, error) { return j.appendWire(b, 0) }

// wireMode says what a caller of appendWire knows or needs.
type wireMode uint8

const (
	// wireMeasure writes timeRoom for the enqueue time, for a pass that
	// checks and measures the job but sends nothing.
	wireMeasure wireMode = 1 << iota
	// wireChecked says checkJob passed: the id and the queue are tokens,
	// which JSON holds as they are.
	wireChecked
)

// timeRoom stands for the enqueue time in an encoding that is only measured:
// at least as long as any (a float64 of UnixNano / 1e9 takes at most 28
// bytes), and formatting the time is the dearest part of an encoding.
const timeRoom = "00000000000000000000000000000000"

// appendWire is appendEncoding in the given mode.
func (j *Job) appendWire(b []byte, mode wireMode) ([]byte, error) {
	if err := j.checkText(); err != nil {
		return b, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	in := b
	b = append(b, `{"job_id":`...)
	b = appendToken(b, j.ID, mode)
	b = append(b, `,"enqueue_time":`...)
	if mode&wireMeasure == 0 {
		b = strconv.AppendFloat(b, toUnix(j.EnqueuedAt), 'f', -1, 64)
	} else {
		b = append(b, timeRoom...)
	}
	b = append(b, `,"function":`...)
	b, ok := appendText(b, j.Name)
	if !ok {
		return in, fmt.Errorf("encode job %s: %w", j.ID, errNotText)
	}
	b = append(b, `,"args":`...)
	b, err := j.appendArgs(b)
	if err != nil {
		return in, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	b = append(b, `,"kwargs":`...)
	if b, err = j.appendKwargsText(b, true); err != nil {
		return in, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	b = append(b, `,"max_retries":`...)
	b = strconv.AppendInt(b, int64(j.MaxRetries), 10)
	b = append(b, `,"retry_delay":`...)
	switch len(j.RetryDelay) {
	case 0:
		b = append(b, '0')
	case 1:
		b = appendSeconds(b, j.RetryDelay[0])
	default:
		b = append(b, '[')
		for i, d := range j.RetryDelay {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSeconds(b, d)
		}
		b = append(b, ']')
	}
	queue := j.Queue
	if queue == "" { // a job from NewJob not yet given a queue
		queue = DefaultQueue
	}
	b = append(b, `,"queue_name":`...)
	b = appendToken(b, queue, mode)
	b = append(b, `,"depends_on":`...)
	b = appendStrings(b, j.DependsOn, "[]")
	b = append(b, `,"result_ttl":`...)
	b = appendOptSeconds(b, j.ResultTTL)
	b = append(b, `,"timeout":`...)
	b = appendOptSeconds(b, j.Timeout)
	strategy := j.RetryStrategy
	if strategy == "" {
		strategy = Linear
	}
	b = append(b, `,"retry_strategy":`...)
	switch strategy {
	case Linear:
		b = append(b, `"linear"`...)
	case Exponential:
		b = append(b, `"exponential"`...)
	default:
		b = appendString(b, string(strategy))
	}
	b = append(b, `,"retry_on":`...)
	b = appendStrings(b, j.RetryOn, "null")
	b = append(b, `,"ignore_on":`...)
	b = appendStrings(b, j.IgnoreOn, "null")
	if j.Flow != nil {
		b = j.Flow.appendJSON(b)
	}
	// Workflow fields only when set: a plain job's bytes stay Python naq's.
	if wl := j.Workflow; wl != nil {
		if wl.ID != "" {
			b = append(b, `,"workflow_id":`...)
			b = appendString(b, wl.ID)
		}
		if wl.AllowFailedDependencies {
			b = append(b, `,"allow_failed_dependencies":true`...)
		}
	}
	return append(b, '}'), nil
}

// checkText refuses error kinds that are not UTF-8: written as JSON they
// would change (each bad byte becomes U+FFFD), as would a job's name, which
// is checked as it is appended, and its keywords, likewise.
func (j *Job) checkText() error {
	bad := false
	for _, kinds := range [2][]string{j.RetryOn, j.IgnoreOn} {
		for _, s := range kinds {
			bad = bad || !utf8.ValidString(s)
		}
	}
	if bad {
		return errNotText
	}
	return nil
}

var errNotText = fmt.Errorf("%w: the name, a keyword or an error kind is not valid UTF-8", jsonscan.ErrInvalidUTF8)

// checkRaw makes sure an argument holds exactly one valid JSON value.
func checkRaw(raw json.RawMessage) error {
	if len(raw) == 0 {
		return errors.New("empty JSON value")
	}
	sc := jsonscan.New(raw)
	if _, err := sc.Raw(); err != nil {
		return err
	}
	return sc.End()
}

// appendScalar appends v as encoding/json would, for the common scalar types;
// ok is false for any other value (or a float encoding/json writes with an
// exponent), which the caller marshals instead.
func appendScalar(b []byte, v any) (_ []byte, ok bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		if !plainScalar(x) {
			return b, false
		}
		b = append(b, '"')
		b = append(b, x...)
		return append(b, '"'), true
	case bool:
		return strconv.AppendBool(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), true
	case float64:
		// encoding/json uses the shortest plain form in this range, and an
		// exponent outside it; NaN and infinities are errors.
		if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
			return strconv.AppendFloat(b, x, 'f', -1, 64), true
		}
	}
	return b, false
}

// scalarLen is the length of what appendScalar writes for v, 0 for a value
// it does not write.
func scalarLen(v any) int {
	if s, ok := v.(string); ok {
		if plainScalar(s) {
			return len(s) + 2
		}
		return 0
	}
	var scratch [32]byte // any number appendScalar writes fits
	b, _ := appendScalar(scratch[:0], v)
	return len(b)
}

// plainScalar reports whether encoding/json writes s as it is, in quotes:
// it escapes <, > and & besides what JSON needs.
func plainScalar(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendText appends s as a JSON string, or reports that s is not UTF-8
// (which JSON would change). Plain ASCII, the usual case, is checked once.
func appendText(b []byte, s string) ([]byte, bool) {
	if jsonscan.PlainPrefix(s) == len(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), true
	}
	if !utf8.ValidString(s) {
		return b, false
	}
	return appendString(b, s), true
}

// appendToken appends an id or a queue name; in wireChecked mode it is a
// token (checkJob), copied without looking for bytes to escape.
func appendToken(b []byte, s string, mode wireMode) []byte {
	if mode&wireChecked == 0 {
		return appendString(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return jsonscan.AppendString(b, s) }

// appendStrings appends ss as a JSON array, or none for a nil slice.
func appendStrings(b []byte, ss []string, none string) []byte {
	if ss == nil {
		return append(b, none...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', -1, 64)
}

func appendOptSeconds(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, "null"...)
	}
	return appendSeconds(b, d)
}

// argumentsSize is about what appendArgs and appendKwargs add.
func (j *Job) argumentsSize() int {
	size := 4
	for _, a := range j.Args {
		size += len(a) + 5
	}
	for k, v := range j.Kwargs {
		size += len(k) + len(v) + 8
	}
	return size
}

// appendArgs appends the positional arguments as a JSON array, each checked
// to be exactly one JSON value (nil is null, as encoding/json writes it).
func (j *Job) appendArgs(b []byte) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, a := range j.Args {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendRaw(b, a); err != nil {
			return nil, fmt.Errorf("positional argument %d: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

// appendKwargs appends the keyword arguments as a JSON object, keys sorted as
// encoding/json sorts a map's, values checked as appendArgs checks them.
func (j *Job) appendKwargs(b []byte) ([]byte, error) { return j.appendKwargsText(b, false) }

// appendKwargsText is appendKwargs; with checkKeys, a key that is not UTF-8
// is an error (checked as it is appended: no pass of its own).
func (j *Job) appendKwargsText(b []byte, checkKeys bool) ([]byte, error) {
	type kwarg struct {
		k string
		v json.RawMessage
	}
	var few [8]kwarg // most jobs have a few keyword arguments: no allocation
	kw := few[:0]
	for k, v := range j.Kwargs {
		kw = append(kw, kwarg{k, v})
	}
	slices.SortFunc(kw, func(a, b kwarg) int { return strings.Compare(a.k, b.k) })
	b = append(b, '{')
	var err error
	ok := true
	for i, a := range kw {
		if i > 0 {
			b = append(b, ',')
		}
		if !checkKeys {
			b = appendString(b, a.k)
		} else if b, ok = appendText(b, a.k); !ok {
			return nil, errNotText
		}
		b = append(b, ':')
		if b, err = appendRaw(b, a.v); err != nil {
			return nil, fmt.Errorf("keyword argument %q: %w", a.k, err)
		}
	}
	return append(b, '}'), nil
}

// appendRaw appends an argument; nil is null, as encoding/json writes it.
func appendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(b, "null"...), nil
	}
	if err := checkRaw(raw); err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}
