package naq

import (
	"fmt"

	"github.com/naqgo/naq/internal/layout"
)

// The flow-control fields of the wire job (unique_key, unique_scope,
// rate_key): naq-go's own, written only when set, and ignored by Python naq,
// which runs such a job as a plain one.

// appendJSON appends the flow-control fields that are set.
func (f *FlowControl) appendJSON(b []byte) []byte {
	if f.UniqueKey != "" {
		b = append(b, `,"unique_key":`...)
		b = appendString(b, f.UniqueKey)
		b = append(b, `,"unique_scope":`...)
		b = appendString(b, string(f.UniqueScope))
	}
	if f.RateKey != "" {
		b = append(b, `,"rate_key":`...)
		b = appendString(b, f.RateKey)
	}
	return b
}

// flowControl checks and copies the flow-control fields into j.
func (w *wireJob) flowControl(j *Job) error {
	f := &FlowControl{}
	if w.UniqueKey != "" {
		if err := layout.ValidateKVKey(w.UniqueKey); err != nil {
			return fmt.Errorf("unique_key: %w", err)
		}
		switch s := UniqueScope(w.UniqueScope); s {
		case UniquePending, UniqueActive, UniquePeriod:
			f.UniqueKey, f.UniqueScope = w.UniqueKey, s
		default:
			return fmt.Errorf("unique_scope %q: want \"pending\", \"active\" or \"period\"", w.UniqueScope)
		}
	}
	if w.RateKey != "" {
		if err := ValidateRateKey(w.RateKey); err != nil {
			return fmt.Errorf("rate_key: %w", err)
		}
		f.RateKey = w.RateKey
	}
	if f.UniqueKey != "" || f.RateKey != "" {
		j.Flow = f
	}
	return nil
}
