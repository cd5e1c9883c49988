package naq

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoDependency: a dependency result asked of a job that has no such
// dependency (or of a context that is not a job's).
var ErrNoDependency = errors.New("naq: no such dependency")

type depResultsKey struct{}

// WithDependencyResults returns a context that carries the results of a
// job's dependencies, in the order of its DependsOn. A worker gives it to
// every handler of a job with dependencies; a test gives it to a handler it
// calls directly.
func WithDependencyResults(ctx context.Context, results []*Result) context.Context {
	return context.WithValue(ctx, depResultsKey{}, results)
}

// DependencyResults returns the records of the running job's dependencies,
// in the order of its DependsOn (for a group callback, the order of the
// group's members): completed ones with their values and, for a callback
// run AlsoOnFailure, failed or cancelled ones with their errors (Result.Err).
// It is nil in a job without dependencies.
func DependencyResults(ctx context.Context) []*Result {
	rs, _ := ctx.Value(depResultsKey{}).([]*Result)
	return rs
}

// DependencyResult decodes the value of the running job's dependency jobID
// into a T. A dependency that failed gives its failure (a *JobFailedError);
// an id that is not a dependency, ErrNoDependency.
func DependencyResult[T any](ctx context.Context, jobID string) (T, error) {
	var v T
	for _, r := range DependencyResults(ctx) {
		if r.JobID == jobID {
			return v, r.Decode(&v)
		}
	}
	return v, fmt.Errorf("%w: job %s", ErrNoDependency, jobID)
}

// PreviousResult decodes the value of the running job's only dependency: in
// a chain, the step before. A job with none or several dependencies (a step
// after a group) gives ErrNoDependency: use DependencyValues there.
func PreviousResult[T any](ctx context.Context) (T, error) {
	var v T
	rs := DependencyResults(ctx)
	if len(rs) != 1 {
		return v, fmt.Errorf("%w: the job has %d dependencies, not one", ErrNoDependency, len(rs))
	}
	return v, rs[0].Decode(&v)
}

// DependencyValues decodes the values of all the running job's dependencies,
// in the order of DependencyResults: a group callback's member results. A
// dependency that failed makes it return its failure (a *JobFailedError) with
// the values decoded so far; a callback run AlsoOnFailure reads each
// member's outcome with DependencyResults instead.
func DependencyValues[T any](ctx context.Context) ([]T, error) {
	rs := DependencyResults(ctx)
	vs := make([]T, 0, len(rs))
	for _, r := range rs {
		var v T
		if err := r.Decode(&v); err != nil {
			return vs, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}
