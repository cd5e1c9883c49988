package layout_test

import (
	"testing"

	"github.com/naqgo/naq/internal/layout"
)

// Queue names and job ids become subject tokens: letters, digits, '_' and
// '-' pass, and '=' in an id (base64 ids); anything else is refused.
func TestNamesAreTokens(t *testing.T) {
	for _, c := range []struct {
		name      string
		queue, id bool
	}{
		{"default", true, true},
		{"Q-1_z", true, true},
		{"0123456789abcdefABCDEF", true, true},
		{"abc=", false, true},
		{"a.b", false, false},
		{"a*", false, false},
		{"a>", false, false},
		{"a b", false, false},
		{"tab\t", false, false},
		{"é", false, false},
		{"\x80", false, false},
		{"\xff", false, false},
		{"a\x00", false, false},
		{"a/b", false, false},
		{"a+b", false, false},
		{"a:b", false, false},
		{"~", false, false},
	} {
		if got := layout.ValidateQueue(c.name) == nil; got != c.queue {
			t.Errorf("ValidateQueue(%q) passes: %v, want %v", c.name, got, c.queue)
		}
		if got := layout.ValidateJobID(c.name) == nil; got != c.id {
			t.Errorf("ValidateJobID(%q) passes: %v, want %v", c.name, got, c.id)
		}
	}
}
