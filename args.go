package naq

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// setArgs applies Enqueue's argument rule: nil means none; Args are positional;
// Kwargs, and any value that marshals to a JSON object, are keyword arguments;
// any other value is the single positional argument. Typed handlers bind them
// back by the rule of Job.Bind, so a struct round-trips.
//
// A job keeps its arguments for as long as its caller holds it (a batch for
// EnqueueMany holds them all): each kind takes as few allocations as it can,
// the values in one buffer of exactly their size.
func setArgs(j *Job, args any) error {
	j.Args = []json.RawMessage{}
	switch a := args.(type) {
	case nil:
		j.Kwargs = map[string]json.RawMessage{}
		return nil
	case map[string]any:
		return setKwargs(j, a)
	case Kwargs:
		return setKwargs(j, a)
	case Args:
		j.Kwargs = map[string]json.RawMessage{}
		return setPositional(j, a)
	}
	// Encoded once: the job keeps the encoding, an object split in place
	// into its keyword arguments.
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgs, err)
	}
	if err := setEncoded(j, raw); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgs, err)
	}
	return nil
}

// setEncoded sets j's arguments from raw, json.Marshal's encoding of one
// value, which j keeps: an object's members are its keyword arguments, any
// other value its one positional argument.
func setEncoded(j *Job, raw []byte) error {
	if raw[0] != '{' {
		j.Args = []json.RawMessage{raw}
		j.Kwargs = map[string]json.RawMessage{}
		return nil
	}
	j.Kwargs = map[string]json.RawMessage{}
	for i := 1; raw[i] != '}'; {
		// Members as encoding/json writes them: "key":value, compact and
		// valid, so they are split without being checked again.
		k, escaped := stringEnd(raw, i)
		key := raw[i+1 : k]
		if escaped {
			var s string
			if err := json.Unmarshal(raw[i:k+1], &s); err != nil {
				return err
			}
			key = []byte(s)
		}
		i = valueEnd(raw, k+2)
		v := raw[k+2 : i]
		// The key is read in place: raw is never written again, and each
		// value is capped, so appending to one cannot reach the bytes of a
		// key (a key with escapes is a fresh copy).
		j.Kwargs[unsafe.String(unsafe.SliceData(key), len(key))] = v[:len(v):len(v)]
		if raw[i] == ',' {
			i++
		}
	}
	return nil
}

// stringEnd is the index of the quote that ends the string starting at
// b[i], and whether the string holds escapes.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			escaped = true
			i++
		}
	}
	return i, escaped
}

// valueEnd is the index just past the value starting at b[i], in valid
// compact JSON.
func valueEnd(b []byte, i int) int {
	depth := 0
	for ; ; i++ {
		switch b[i] {
		case '"':
			i, _ = stringEnd(b, i)
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
}

// setKwargs marshals each value of a map on its own: the same JSON as
// marshalling the map, without encoding the object and scanning it back.
// Several scalar values are written to the stack, then copied into one
// buffer of their size: a map is ranged over once (a second pass to size
// the buffer cost more than it saved).
func setKwargs(j *Job, kw map[string]any) error {
	j.Kwargs = make(map[string]json.RawMessage, len(kw)) // sized once, not grown
	if len(kw) == 1 {
		for k, v := range kw {
			return setKwarg(j, k, v) // no scratch to clear
		}
	}
	var scratch [256]byte
	var keys [8]string
	var ends [8]int
	buf, n := scratch[:0], 0
	for k, v := range kw {
		if n == len(keys) {
			if err := setKwarg(j, k, v); err != nil {
				return err
			}
			continue
		}
		if b, ok := appendScalar(buf, v); ok {
			buf, keys[n], ends[n] = b, k, len(b)
			n++
			continue
		}
		if err := setKwarg(j, k, v); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	vals := append([]byte(nil), buf...)
	start := 0
	for i, k := range keys[:n] {
		// Capped, so appending to one value never writes into the next.
		j.Kwargs[k] = json.RawMessage(vals[start:ends[i]:ends[i]])
		start = ends[i]
	}
	return nil
}

// setKwarg sets one keyword argument in an allocation of its own.
func setKwarg(j *Job, k string, v any) error {
	if raw, ok := appendScalar(nil, v); ok {
		j.Kwargs[k] = raw
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: keyword argument %q: %v", ErrInvalidArgs, k, err)
	}
	j.Kwargs[k] = raw
	return nil
}

// setPositional sets Args as setKwargs sets a map.
func setPositional(j *Job, a Args) error {
	j.Args = make([]json.RawMessage, len(a))
	size := 0
	for _, v := range a {
		size += scalarLen(v)
	}
	buf := scalarBuf(size)
	for i, v := range a {
		start := len(buf)
		if b, ok := appendScalar(buf, v); ok {
			buf = b
			j.Args[i] = json.RawMessage(buf[start:len(buf):len(buf)])
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: positional argument %d: %v", ErrInvalidArgs, i, err)
		}
		j.Args[i] = raw
	}
	return nil
}

// scalarBuf is an empty buffer of exactly size bytes: the scalar values
// share one allocation of their size, and appending them never grows it
// (which would leave the earlier values in another array).
func scalarBuf(size int) []byte {
	if size == 0 {
		return nil
	}
	return make([]byte, 0, size)
}
