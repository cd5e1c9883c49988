package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/naqgo/naq/internal/jsonscan"
)

// AppendString writes what encoding/json writes for every string, whichever
// byte of a long one needs escaping.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x1f", "\x7f", "é", "\u2028", "<", "\xff", " ", "~"}
	var cases []string
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 33} {
		base := strings.Repeat("a", n)
		cases = append(cases, base)
		for _, sp := range specials {
			for at := 0; at <= n; at++ {
				cases = append(cases, base[:at]+sp+base[at:])
			}
		}
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f || r == '"' || r == '\\' }) {
			// The plain case is copied: HTML characters stay as they are.
			want = []byte(`"` + s + `"`)
		}
		if got := jsonscan.AppendString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}
