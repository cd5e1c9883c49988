package naq

import (
	"fmt"

	"github.com/naqgo/naq/internal/layout"
)

// The flow-control fields of the wire job (unique_key, unique_scope,
// rate_key): naq-go's own, written only when set, and ignored by Python naq,
// which runs such a job as a plain one.

// appendFlowControl appends the flow-control fields that are set.
func (j *Job) appendFlowControl(b []byte) []byte {
	if j.UniqueKey != "" {
		b = append(b, `,"unique_key":`...)
		b = appendString(b, j.UniqueKey)
		b = append(b, `,"unique_scope":`...)
		b = appendString(b, string(j.UniqueScope))
	}
	if j.RateKey != "" {
		b = append(b, `,"rate_key":`...)
		b = appendString(b, j.RateKey)
	}
	return b
}

// flowControl checks and copies the flow-control fields into j.
func (w *wireJob) flowControl(j *Job) error {
	if w.UniqueKey != "" {
		if err := layout.ValidateKVKey(w.UniqueKey); err != nil {
			return fmt.Errorf("unique_key: %w", err)
		}
		switch s := UniqueScope(w.UniqueScope); s {
		case UniquePending, UniqueActive, UniquePeriod:
			j.UniqueKey, j.UniqueScope = w.UniqueKey, s
		default:
			return fmt.Errorf("unique_scope %q: want \"pending\", \"active\" or \"period\"", w.UniqueScope)
		}
	}
	if w.RateKey != "" {
		if err := ValidateRateKey(w.RateKey); err != nil {
			return fmt.Errorf("rate_key: %w", err)
		}
		j.RateKey = w.RateKey
	}
	return nil
}
