// Package jsonscan is a small validating JSON scanner for naq's hot paths: it
// walks an object's members and hands out raw values without building maps
// or reflecting, several times faster than encoding/json for a job envelope.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
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

// stringSpan consumes a string and returns its contents' bounds and whether
// it holds escapes.
func (s *Scanner) stringSpan() (body []byte, simple bool, err error) {
	if err := s.expect('"'); err != nil {
		return nil, false, err
	}
	// Locals, not s.i: the loop runs over every byte of every string.
	b, i := s.b, s.i
	start := i
	var high byte // OR of all bytes: below 0x80 means plain ASCII
	escaped := false
	// Eight bytes at a time while none ends the string, escapes, is a
	// control character or is not ASCII (most of an envelope's strings are
	// plain ids and names), then straight to the first byte that does.
	for i+8 <= len(b) {
		if m := special8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		i += 8
	}
	for i < len(b) {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			high |= c
			i++
			continue
		}
		switch {
		case c == '"':
			body = b[start:i]
			// Only a string with a byte above 0x7f can be invalid UTF-8, and
			// bytes above 0x7f outside strings are syntax errors: checking
			// here covers the whole input at no cost for ASCII.
			if high >= 0x80 && !utf8.Valid(body) {
				s.i = start
				return nil, false, fmt.Errorf("invalid JSON at offset %d: %w in string", s.i, ErrInvalidUTF8)
			}
			s.i = i + 1
			return body, !escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				s.i = i
				return nil, false, s.errf("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex4(b[i+2:i+6]) {
					s.i = i
					return nil, false, s.errf("bad \\u escape in string")
				}
				i += 6
			default:
				s.i = i
				return nil, false, s.errf("bad escape in string")
			}
		default:
			s.i = i
			return nil, false, s.errf("control character in string")
		}
	}
	s.i = i
	return nil, false, s.errf("unterminated string")
}

// plainASCII8 reports whether all eight bytes of x are ASCII, at least 0x20,
// and neither '"' nor '\\'. The classic tests for a zero byte and for a byte
// below n are exact about whether any byte matches.
func plainASCII8(x uint64) bool { return special8(x) == 0 }

// special8 marks (with its high bit) each byte of x that is not plain ASCII
// text: its lowest mark is exact, as a borrow only moves upward, so it finds
// the first such byte.
func special8(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(y uint64) uint64 { return (y - lo) & ^y & hi }
	return (x & hi) | ((x - lo*0x20) &^ x & hi) | zero(x^(lo*'"')) | zero(x^(lo*'\\'))
}

// keyBytes consumes a string and returns its unescaped contents, without
// copying when it holds no escapes.
func (s *Scanner) keyBytes() ([]byte, error) {
	s.WS()
	start := s.i
	body, simple, err := s.stringSpan()
	if err != nil {
		return nil, err
	}
	if simple {
		return body, nil
	}
	// Escapes: encoding/json decodes them.
	var out string
	if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
		return nil, s.errf("bad string: %v", err)
	}
	return []byte(out), nil
}

// StringBytes consumes a string value and returns its text, valid only while
// the input is; it allocates only for a string with escapes.
func (s *Scanner) StringBytes() ([]byte, error) { return s.keyBytes() }

// String consumes a string value.
func (s *Scanner) String() (string, error) {
	start := s.i
	body, simple, err := s.stringSpan()
	if err != nil {
		return "", err
	}
	if simple {
		return string(body), nil
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
		return "", s.errf("bad string: %v", err)
	}
	return out, nil
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

// ErrInvalidUTF8 reports bytes in a string that are not UTF-8. JSON is UTF-8
// text, and Python naq rejects such a message too: accepting it would mean
// running a job under a name its producer never wrote.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

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

// StringOf consumes a string, failing with ErrType on another type.
func (s *Scanner) StringOf() (string, error) {
	if s.Peek() != '"' {
		return "", fmt.Errorf("%w: want a string", ErrType)
	}
	return s.String()
}

// Strings consumes an array of strings.
func (s *Scanner) Strings() ([]string, error) {
	if s.Peek() != '[' {
		return nil, fmt.Errorf("%w: want an array of strings", ErrType)
	}
	out := []string{}
	err := s.Array(func() error {
		v, err := s.StringOf()
		out = append(out, v)
		return err
	})
	return out, err
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
