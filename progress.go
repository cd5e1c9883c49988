package naq

import (
	"context"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/naqgo/naq/internal/jobctx"
	"github.com/naqgo/naq/internal/records"
)

// JobProgress is how far a running job has come, as its handler last
// reported it (see Progress): Fraction from 0 (nothing done) to 1 (all
// done), a Message in words ("page 40 of 100"), and when (UpdatedAt).
type JobProgress = records.Progress

// MaxProgressMessage bounds a progress message, in bytes.
const MaxProgressMessage = 1024

// Progress reports how far the job the handler runs has come: fraction from 0
// to 1, and a message for people. It shows in Client.Status, naq job status
// and a progress event. Call it as often as is convenient: the worker writes
// at most one report a second per job (the latest; a report made within the
// second is written when it ends, unless the job has finished first), so a
// chatty handler does not load the server, and the call does not wait for the
// write. Outside a worker's handler (in a test calling a handler directly)
// it does nothing. An invalid fraction or message is an error.
func Progress(ctx context.Context, fraction float64, message string) error {
	if math.IsNaN(fraction) || fraction < 0 || fraction > 1 {
		return fmt.Errorf("%w: progress %v is not between 0 and 1", ErrInvalidArgs, fraction)
	}
	if len(message) > MaxProgressMessage || !utf8.ValidString(message) {
		return fmt.Errorf("%w: a progress message is valid UTF-8 of at most %d bytes", ErrInvalidArgs, MaxProgressMessage)
	}
	job := JobFromContext(ctx)
	r := jobctx.ReporterFrom(ctx)
	if job == nil || r == nil {
		return nil
	}
	r.Progress(job, fraction, message)
	return nil
}
