package records

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/naqgo/naq/internal/jsonscan"
)

// EncodeResult is r's JSON, in one allocation.
func EncodeResult(r *Result) []byte {
	return AppendResult(make([]byte, 0, sizeHint(r)), r)
}

// sizeHint is about the length of r's JSON: the fixed part (keys and three
// times) and the variable fields, escapes aside.
func sizeHint(r *Result) int {
	n := 320 + len(r.Value) + len(r.JobID) + len(r.Name) + len(r.Queue) + len(r.ErrorKind) + len(r.WorkerID)
	if r.Error != nil {
		n += len(*r.Error)
	}
	if r.Traceback != nil {
		n += len(*r.Traceback)
	}
	return n
}

// AppendResult appends r's JSON to b. It writes by hand, as encoding/json
// would with Result's tags: a worker writes one for every job.
func AppendResult(b []byte, r *Result) []byte {
	b = append(b, `{"status":`...)
	b = jsonscan.AppendString(b, string(r.Status))
	b = append(b, `,"result":`...)
	if len(r.Value) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Value...)
	}
	b = append(b, `,"error":`...)
	b = appendOptString(b, r.Error)
	b = append(b, `,"traceback":`...)
	b = appendOptString(b, r.Traceback)
	b = appendField(b, "job_id", r.JobID)
	b = appendField(b, "function", r.Name)
	b = appendField(b, "queue_name", r.Queue)
	b = appendField(b, "error_kind", r.ErrorKind)
	if r.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(r.Attempts), 10)
	}
	b = appendField(b, "worker_id", r.WorkerID)
	b = appendTime(b, "enqueued_at", r.EnqueuedAt)
	b = appendTime(b, "started_at", r.StartedAt)
	b = appendTime(b, "finished_at", r.FinishedAt)
	return append(b, '}')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonscan.AppendString(b, *s)
}

// appendField appends ,"key":"value" unless value is empty.
func appendField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return jsonscan.AppendString(b, value)
}

// appendTime appends ,"key":"<RFC 3339>" unless t is zero.
func appendTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// EncodeStatus is st's JSON.
func EncodeStatus(st *Status) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("naq: encode status of job %s: %w", st.JobID, err)
	}
	return data, nil
}
