package jsonscan

// Strings: scanning one, the word-at-a-time test behind it, and arrays of
// them. Not here: the scanner's other values (scan.go).

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

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

// ErrInvalidUTF8 reports bytes in a string that are not UTF-8. JSON is UTF-8
// text, and Python naq rejects such a message too: accepting it would mean
// running a job under a name its producer never wrote.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

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
