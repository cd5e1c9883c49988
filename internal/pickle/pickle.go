// Package pickle reads the plain-data subset of Python's pickle format
// (protocols 2 to 5): None, booleans, integers, finite floats, str, bytes,
// lists, tuples and dicts with str keys: what a JSON record can hold. Python naq writes some records (worker
// heartbeats, schedules) with cloudpickle, which for a dict of plain values is
// the same bytes as pickle.
//
// It never runs or names Python code: every opcode that would import a global,
// call it or build an object is refused, so a record holding anything but
// plain data is reported, not executed.
package pickle

import (
	"errors"
	"fmt"
)

// ErrNotPickle: the bytes do not start like a pickle of protocol 2 or later.
var ErrNotPickle = errors.New("pickle: not a pickle of protocol 2 or later")

// ErrUnsupported: a pickle that holds something beyond plain data (an object,
// a global, a set...), or is cut short or malformed.
var ErrUnsupported = errors.New("pickle: not plain data")

// maxDepth bounds the nesting of the decoded value; a pickle can make a list
// that holds itself, which no plain value can.
const maxDepth = 200

// IsPickle reports whether data starts like a pickle of protocol 2 or later.
func IsPickle(data []byte) bool {
	return len(data) >= 2 && data[0] == opProto && data[1] >= minProtocol && data[1] <= maxProtocol
}

// Decode reads a pickle of plain data. It returns nil, bool, int64, float64,
// string, []byte, []any (a list or tuple) and map[string]any values.
// Integers beyond 64 bits, str with lone surrogates, and dict keys other than
// str are refused as ErrUnsupported.
func Decode(data []byte) (any, error) {
	if !IsPickle(data) {
		return nil, ErrNotPickle
	}
	d := &decoder{b: data}
	v, err := d.run()
	if err != nil {
		return nil, err
	}
	budget := maxNodes
	return plain(v, 0, &budget)
}

// DecodeDict reads a pickle whose value is a dict.
func DecodeDict(data []byte) (map[string]any, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: a %T, not a dict", ErrUnsupported, v)
	}
	return m, nil
}

// maxNodes bounds the values the decoded value holds once expanded: the memo
// lets a few bytes refer to one list many times over.
const maxNodes = 1 << 20

// plain turns lists being built into []any. It refuses a value nested
// deeper than maxDepth (a list or dict that holds itself) or holding more than
// maxNodes values once expanded.
func plain(v any, depth int, budget *int) (any, error) {
	*budget--
	if depth > maxDepth || *budget < 0 {
		return nil, fmt.Errorf("pickle: nested more than %d deep or more than %d values: %w", maxDepth, maxNodes, ErrUnsupported)
	}
	switch t := v.(type) {
	case *list:
		return plainSlice(t.items, depth, budget)
	case []any:
		return plainSlice(t, depth, budget)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			p, err := plain(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	}
	return v, nil
}

func plainSlice(items []any, depth int, budget *int) ([]any, error) {
	out := make([]any, len(items))
	for k, e := range items {
		p, err := plain(e, depth+1, budget)
		if err != nil {
			return nil, err
		}
		out[k] = p
	}
	return out, nil
}
