package naq

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/naqgo/naq/internal/jsonscan"
)

// Events are encoded by hand: a worker with events on publishes two or
// three per job, and reflection would be most of their cost. The output is
// what encoding/json makes of Event, field for field.

var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"event_type":`...)
	b = appendJSONString(b, string(e.Type))
	b = append(b, `,"job_id":`...)
	b = appendJSONString(b, e.JobID)
	b = append(b, `,"timestamp":"`...)
	b = jsonscan.AppendTime(b, e.Time)
	b = append(b, '"')
	b = appendStringField(b, "worker_id", e.WorkerID)
	b = appendStringField(b, "queue_name", e.Queue)
	b = appendStringField(b, "function", e.Function)
	if e.Attempt != 0 {
		b = append(b, `,"attempt":`...)
		b = strconv.AppendInt(b, int64(e.Attempt), 10)
	}
	if e.MaxRetries != 0 {
		b = append(b, `,"max_retries":`...)
		b = strconv.AppendInt(b, int64(e.MaxRetries), 10)
	}
	if e.DurationMS != 0 {
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, e.DurationMS, 'f', -1, 64)
	}
	if e.DelayMS != 0 {
		b = append(b, `,"delay_ms":`...)
		b = strconv.AppendFloat(b, e.DelayMS, 'f', -1, 64)
	}
	if e.Progress != nil {
		b = append(b, `,"progress":`...)
		b = strconv.AppendFloat(b, *e.Progress, 'f', -1, 64)
	}
	b = appendStringField(b, "error_type", e.ErrorKind)
	b = appendStringField(b, "error_message", e.Error)
	b = appendStringField(b, "message", e.Message)
	if len(e.Queues) > 0 {
		b = append(b, `,"queue_names":[`...)
		for i, q := range e.Queues {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, q)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON: control characters escaped, invalid
// UTF-8 replaced by U+FFFD, as encoding/json does (without its HTML
// escaping, which a reader does not need).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	// Ids, names and queues need no escaping: they go in at once, found
	// eight bytes at a time.
	plain := jsonscan.PlainPrefix(s)
	b = append(b, s[:plain]...)
	if plain == len(s) {
		return append(b, '"')
	}
	start := plain
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
