package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorKind(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	cases := []struct {
		err  error
		want string
	}{
		{&Error{Kind: "builtins:ValueError", Err: errors.New("bad")}, "builtins:ValueError"},
		{fmt.Errorf("loading: %w", pathErr), "fs.PathError"},
		{SkipRetry(pathErr), "fs.PathError"},
		{SkipRetry(&Error{Kind: KindBind, Err: errors.New("x")}), KindBind},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), KindTimeout},
		{errors.New("plain"), "errors.errorString"},
		{nil, ""},
	}
	for _, c := range cases {
		if got := ErrorKind(c.err); got != c.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	wrapped := fmt.Errorf("outer: %w", &Error{Kind: "tasks:TransientError", Err: pathErr})
	if !matchesKind(wrapped, []string{"fs.PathError"}) || !matchesKind(wrapped, []string{"tasks:TransientError"}) ||
		!matchesKind(wrapped, []string{KindAny}) || matchesKind(wrapped, []string{"builtins:KeyError"}) {
		t.Fatal("matchesKind does not see the whole chain")
	}
}
