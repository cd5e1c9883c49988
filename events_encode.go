package naq

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
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
	b = appendTime(b, e.Time)
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
	plain := plainPrefix(s)
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

// plainPrefix is the length of s's longest prefix of printable ASCII
// without a quote or a backslash: what JSON holds as it is.
func plainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		w := s[i : i+8] // one bounds check, one load
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte's high bit is set in each term when that byte is below
		// 0x20, a quote, a backslash, or not ASCII (a borrow can set it
		// for a neighbour too, which only sends the word to the byte loop).
		quote, backslash := x^('"'*ones), x^('\\'*ones)
		if ((x-0x20*ones)&^x|(quote-ones)&^quote|(backslash-ones)&^backslash|x)&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	return i
}

// appendTime appends t as time.RFC3339Nano does, which is what
// encoding/json writes for a time. A UTC time of years 0 to 9999 (every
// event's, as PublishEvent stamps them) is written here, digit by digit;
// any other goes through AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if t.Location() != time.UTC || year < 0 || year > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, minute, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}
