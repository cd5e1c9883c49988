package worker

// Error kinds, every one the worker uses, and the errors a handler returns to
// steer what happens next: SkipRetry, Snooze, RetryAfter. Not here: what the
// worker does with them (settle.go).

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/naqgo/naq/internal/records"
)

// Error gives an error a kind, which a job's retry_on and ignore_on lists match.
// Python naq names kinds by exception path ("builtins:ValueError"); Go code
// can use the same names or its own.
type Error struct {
	Kind string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns e.Kind.
func (e *Error) ErrorKind() string { return e.Kind }

// Kinds used by the worker itself.
const (
	KindTimeout   = "builtins:TimeoutError"
	KindCancelled = records.CancelledKind
	KindPanic     = "naq:Panic"
	KindNoHandler = "naq:NoHandler"
	KindBind      = "naq:BindError"
	// KindAny matches every error in retry_on and ignore_on, like Python's
	// builtins:Exception.
	KindAny = "builtins:Exception"
	// KindDependencyFailed fails a job one of whose dependencies failed or
	// was cancelled; KindDependencyTimeout one whose dependencies did not
	// complete within the worker's DependencyTimeout.
	KindDependencyFailed  = "naq:DependencyFailed"
	KindDependencyTimeout = "naq:DependencyTimeout"
	// KindPoison fails a job that keeps coming back without an answer.
	KindPoison = "naq:Poison"
	// KindResultTooLarge fails a job whose result is over what the server
	// stores in one message.
	KindResultTooLarge = "naq:ResultTooLarge"
)

// kinder is implemented by errors that name their kind.
type kinder interface{ ErrorKind() string }

// ErrorKind names err's kind: the kind of the first error in its chain that has
// one (see Error), else the Go type of the first error in the chain that is
// not a mere wrapper ("*fs.PathError" becomes "fs.PathError"). A deadline is
// KindTimeout.
func ErrorKind(err error) string {
	if ks := errorKinds(err); len(ks) > 0 {
		return ks[0]
	}
	return ""
}

// wrapperTypes only add context to the error they wrap; they are not kinds.
var wrapperTypes = map[string]bool{
	"fmt.wrapError": true, "fmt.wrapErrors": true, "errors.joinError": true, "worker.skipRetryError": true,
}

// errorKinds lists the kinds of every error in err's chain, named ones first.
func errorKinds(err error) []string {
	var named, typed []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if k, ok := e.(kinder); ok {
			named = append(named, k.ErrorKind())
		}
		if e == context.DeadlineExceeded {
			named = append(named, KindTimeout)
		}
		if t := strings.TrimPrefix(reflect.TypeOf(e).String(), "*"); !wrapperTypes[t] {
			typed = append(typed, t)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if x != errSkipRetry {
					walk(x)
				}
			}
		}
	}
	walk(err)
	return append(named, typed...)
}

// matchesKind reports whether any kind in err's chain is in list.
func matchesKind(err error, list []string) bool {
	if slices.Contains(list, KindAny) {
		return true
	}
	for _, k := range errorKinds(err) {
		if slices.Contains(list, k) {
			return true
		}
	}
	return false
}

// errSkipRetry marks an error that must not be retried.
var errSkipRetry = errors.New("do not retry")

type skipRetryError struct{ err error }

func (e *skipRetryError) Error() string   { return e.err.Error() }
func (e *skipRetryError) Unwrap() []error { return []error{e.err, errSkipRetry} }

// SkipRetry wraps err so the job fails now, whatever retries it has left.
func SkipRetry(err error) error {
	if err == nil {
		err = errors.New("job failed (skip retry)")
	}
	return &skipRetryError{err: err}
}

// IsSkipRetry reports whether err was wrapped by SkipRetry.
func IsSkipRetry(err error) bool { return errors.Is(err, errSkipRetry) }

// SnoozeError asks for the job to run again after Delay, without counting the
// attempt as a failure.
type SnoozeError struct{ Delay time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.Delay) }

// Snooze returns an error that puts the job back for d; it does not use up a
// retry.
func Snooze(d time.Duration) error { return &SnoozeError{Delay: max(d, 0)} }

// retryAfterError asks that a retry of the job wait at least after.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter wraps err so that a retry of the job waits at least d (a rate
// limit's Retry-After, say) rather than only its retry delay. The attempt
// counts, and the job's retry policy still decides whether there is a retry.
func RetryAfter(d time.Duration, err error) error {
	if err == nil {
		err = errors.New("job failed (retry after a wait)")
	}
	return &retryAfterError{err: err, after: max(d, 0)}
}

// retryFloor is the least wait err asks of a retry; 0 when it asks none.
func retryFloor(err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after
	}
	return 0
}
