package layout

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"2.15.2", true}, {"2.14.0", true}, {"2.14.0-beta.1", true}, {"3.0.0", true},
		{"2.13.9", false}, {"2.12.1", false}, {"1.99.0", false}, {"", false}, {"garbage", false},
	} {
		if got := versionAtLeast(c.v, 2, 14); got != c.want {
			t.Errorf("versionAtLeast(%q, 2, 14) = %v, want %v", c.v, got, c.want)
		}
	}
}
