package jsonscan

import (
	"encoding/binary"
	"encoding/json"
)

// AppendString appends s as a JSON string; the plain-ASCII case is copied,
// anything else is escaped as encoding/json does.
func AppendString(b []byte, s string) []byte {
	if PlainPrefix(s) < len(s) {
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// PlainPrefix is the length of s's longest prefix of printable ASCII other
// than '"' and '\': what a JSON string holds as it is.
func PlainPrefix(s string) int {
	i := 0
	// Eight bytes at a time while all are plain: ids and names, which a
	// worker writes for every job.
	for i+8 <= len(s) && printable8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
		i += 8
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			break
		}
	}
	return i
}

// printable8 reports whether none of x's eight bytes is a control character,
// DEL, above 0x7f, '"' or '\': the bytes AppendString copies as they are.
func printable8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(y uint64) uint64 { return (y - lo) & ^y & hi }
	return (x&hi)|((x-lo*0x20)&^x&hi)|zero(x^(lo*'"'))|zero(x^(lo*'\\'))|zero(x^(lo*0x7f)) == 0
}
