// Package jsonscan is a small validating JSON scanner for naq's hot paths: it
// walks an object's members and hands out raw values without building maps
// or reflecting, several times faster than encoding/json for a job envelope.
package jsonscan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Scanner reads JSON from a byte slice.
type Scanner struct {
	b []byte
	i int
}

// New returns a scanner over b.
func New(b []byte) *Scanner { return &Scanner{b: b} }

func (s *Scanner) errf(format string, a ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.i, fmt.Sprintf(format, a...))
}

// WS skips white space. The usual case, none, is inlined into the callers.
func (s *Scanner) WS() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	s.ws()
}

//go:noinline
func (s *Scanner) ws() {
	b, i := s.b, s.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// Peek returns the next non-space byte, or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' { // inlined: no space before it
		return s.b[s.i]
	}
	return s.peekAfterSpace()
}

//go:noinline
func (s *Scanner) peekAfterSpace() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// End checks that only white space remains.
func (s *Scanner) End() error {
	s.WS()
	if s.i != len(s.b) {
		return s.errf("unexpected data after the top-level value")
	}
	return nil
}

func (s *Scanner) expect(c byte) error {
	if s.i < len(s.b) && s.b[s.i] == c { // the usual case: no space before it
		s.i++
		return nil
	}
	return s.expectAfterSpace(c)
}

func (s *Scanner) expectAfterSpace(c byte) error {
	if s.Peek() != c {
		if s.i >= len(s.b) {
			return s.errf("unexpected end of input, want %q", c)
		}
		return s.errf("unexpected %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// Null consumes a null if one comes next and reports whether it did.
func (s *Scanner) Null() bool {
	if s.i < len(s.b) && s.b[s.i] > ' ' && s.b[s.i] != 'n' { // the usual case
		return false
	}
	if s.Peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// Object calls member for each key of an object; member must consume the value.
func (s *Scanner) Object(member func(key string) error) error {
	return s.ObjectBytes(func(key []byte) error { return member(string(key)) })
}

// ObjectBytes is Object with the key as bytes, valid only during the call;
// it spares an allocation per key.
func (s *Scanner) ObjectBytes(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.Peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.keyBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.Peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errf("want ',' or '}' in object")
		}
	}
}

// Array calls elem for each element of an array; elem must consume it.
func (s *Scanner) Array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.Peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.Peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errf("want ',' or ']' in array")
		}
	}
}

// Raw consumes any value and returns its bytes (a sub-slice, not a copy).
func (s *Scanner) Raw() (json.RawMessage, error) {
	s.WS()
	start := s.i
	if err := s.skip(0); err != nil {
		return nil, err
	}
	return json.RawMessage(s.b[start:s.i]), nil
}

const maxDepth = 10000

func (s *Scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errf("nested too deeply")
	}
	switch c := s.Peek(); {
	case c == '{':
		return s.ObjectBytes(func([]byte) error { return s.skip(depth + 1) })
	case c == '[':
		return s.Array(func() error { return s.skip(depth + 1) })
	case c == '"':
		_, _, err := s.stringSpan()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.numberSpan()
		return err
	case c == 't' && s.lit("true"), c == 'f' && s.lit("false"), c == 'n' && s.lit("null"):
		return nil
	case c == 0:
		return s.errf("unexpected end of input")
	default:
		return s.errf("unexpected %q", c)
	}
}

func (s *Scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

func (s *Scanner) numberSpan() ([]byte, error) {
	// Locals, not s.i, in the loops over the digits.
	b, start := s.b, s.i
	i := start
	digits := func() bool {
		from := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > from
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	ok := true
	if i < len(b) && b[i] == '0' {
		i++
	} else {
		ok = digits()
	}
	if ok && i < len(b) && b[i] == '.' {
		i++
		ok = digits()
	}
	if ok && i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		ok = digits()
	}
	s.i = i
	if !ok {
		return nil, s.errf("bad number")
	}
	return b[start:i], nil
}

// ErrType reports a value of the wrong JSON type.
var ErrType = errors.New("wrong type")

// Number consumes a number.
func (s *Scanner) Number() (float64, error) {
	if c := s.Peek(); c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Errorf("%w: want a number", ErrType)
	}
	span, err := s.numberSpan()
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(span), 64)
}

// Int consumes an integer (a number without fraction or exponent).
func (s *Scanner) Int() (int, error) {
	if c := s.Peek(); c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Errorf("%w: want an integer", ErrType)
	}
	span, err := s.numberSpan()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(span))
	if err != nil {
		return 0, fmt.Errorf("%w: want an integer, got %s", ErrType, span)
	}
	return n, nil
}
