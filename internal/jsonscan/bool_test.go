package jsonscan

import (
	"errors"
	"testing"
)

func TestBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, " false": false} {
		got, err := New([]byte(in)).Bool()
		if err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, in := range []string{`"true"`, "1", "tru", "null", ""} {
		if _, err := New([]byte(in)).Bool(); !errors.Is(err, ErrType) {
			t.Errorf("%q: %v; want ErrType", in, err)
		}
	}
}
