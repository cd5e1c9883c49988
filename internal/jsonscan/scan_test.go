package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

func plainByte(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }

func plainNaive(w [8]byte) bool {
	for _, c := range w {
		if !plainByte(c) {
			return false
		}
	}
	return true
}

// The word tests agree with the byte test for every byte value in every
// position among plain bytes, and for random words, which mix matches.
func TestPlainASCII8(t *testing.T) {
	check := func(w [8]byte) {
		t.Helper()
		if got, want := plainASCII8(binary.LittleEndian.Uint64(w[:])), plainNaive(w); got != want {
			t.Fatalf("plainASCII8(%q) = %v, want %v", w[:], got, want)
		}
		// The lowest mark is the first byte that is not plain.
		if m := special8(binary.LittleEndian.Uint64(w[:])); m != 0 {
			first := 0
			for plainByte(w[first]) {
				first++
			}
			if got := bits.TrailingZeros64(m) >> 3; got != first {
				t.Fatalf("special8(%q) marks byte %d first, want %d", w[:], got, first)
			}
		}
	}
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var w [8]byte
		for i := range w {
			// Mostly plain bytes, with now and then one of each kind that is not.
			switch r.IntN(12) {
			case 0:
				w[i] = byte(r.IntN(0x20))
			case 1:
				w[i] = '"'
			case 2:
				w[i] = '\\'
			case 3:
				w[i] = byte(0x80 + r.IntN(0x80))
			default:
				w[i] = byte(0x20 + r.IntN(0x60))
			}
		}
		check(w)
	}
}

// Strings long enough for the word loop end, escape and fail as before.
func TestStringSpanAcrossWords(t *testing.T) {
	for _, tc := range []struct {
		in     string
		body   string
		simple bool
		ok     bool
	}{
		{`"0123456789abcdef0123"`, `0123456789abcdef0123`, true, true},
		{`"01234567"`, `01234567`, true, true},
		{`"0123456789abcdef\"x"`, `0123456789abcdef\"x`, false, true},
		{`"0123456789abcdé0123"`, `0123456789abcdé0123`, true, true},
		{"\"0123456789abcdef\x01\"", ``, false, false},
		{`"0123456789abcdef0123`, ``, false, false},
		{"\"0123456789abc\xff0123\"", ``, false, false},
		{"\"0123456789abcdef\\n\xc3\x28\"", ``, false, false},
		// The end, an escape or a non-ASCII byte within the first word, more after it.
		{`"ab"cdefghijklmn`, `ab`, true, true},
		{`""0123456789`, ``, true, true},
		{`"a\"bcdefghijklmn"`, `a\"bcdefghijklmn`, false, true},
		{`"aé0123456789abc" `, `aé0123456789abc`, true, true},
		{"\"a\x01bcdefghijklm\"", ``, false, false},
	} {
		s := New([]byte(tc.in))
		body, simple, err := s.stringSpan()
		if (err == nil) != tc.ok || string(body) != tc.body || simple != tc.simple {
			t.Errorf("stringSpan(%q) = %q, %v, %v; want %q, %v, ok %v", tc.in, body, simple, err, tc.body, tc.simple, tc.ok)
		}
	}
}
