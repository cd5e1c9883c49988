package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/naqgo/naq/internal/pickle"
)

// ErrForeign: a record naq-go cannot read, written by another naq (naq's
// ErrForeignRecord).
var ErrForeign = errors.New("naq: record written by another naq in a form naq-go cannot read")

// JSON returns a record as JSON: JSON as it is, a pickled dict of plain
// values (as Python naq writes worker records, and any record in pickle mode)
// converted. Anything else wraps ErrForeign.
func JSON(data []byte) ([]byte, error) {
	if !pickle.IsPickle(data) {
		return data, nil
	}
	m, err := pickle.DecodeDict(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrForeign, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrForeign, err)
	}
	return b, nil
}

// DecodeResult reads job id's record from naq_results: naq-go's, or Python
// naq's {status, result, error, traceback}, as JSON or pickled plain data.
// Any other record wraps ErrForeign.
func DecodeResult(id string, data []byte) (*Result, error) {
	data, err := JSON(data)
	if err != nil {
		return nil, fmt.Errorf("naq: result of job %s: %w", id, err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.Status == "" {
		return nil, fmt.Errorf("naq: result of job %s: %w: not a result record", id, ErrForeign)
	}
	if r.JobID == "" {
		r.JobID = id
	}
	return &r, nil
}

// pythonStates maps the bare words Python naq stores in naq_job_status.
var pythonStates = map[string]State{
	"pending": StatePending, "running": StateRunning, "completed": StateCompleted, "failed": StateFailed,
	"retry": StateRetrying, "scheduled": StateScheduled, "cancelled": StateCancelled,
}

// DecodeStatus reads job id's record from naq_job_status: naq-go's JSON, or
// the bare state word Python naq writes ("completed", "failed"); updated is
// when the record was written. Any other record wraps ErrForeign.
func DecodeStatus(id string, data []byte, updated time.Time) (*Status, error) {
	var st Status
	if err := json.Unmarshal(data, &st); err == nil {
		return &st, nil
	}
	if s, ok := pythonStates[string(data)]; ok {
		return &Status{JobID: id, State: s, UpdatedAt: updated.UTC()}, nil
	}
	return nil, fmt.Errorf("%w: status of job %s", ErrForeign, id)
}
