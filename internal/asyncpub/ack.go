package asyncpub

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoStream is a write no stream answered: the stream is missing, or has no
// leader for the moment. It matches jetstream.ErrNoStreamResponse.
var ErrNoStream = fmt.Errorf("no stream answered the write: the stream is missing, or has no leader at the moment (a cluster electing one): %w", jetstream.ErrNoStreamResponse)

// AckError reads a stream's answer to a write: nil for a stored message, the
// stream's refusal as a *jetstream.APIError (so errors.Is and errors.As work
// as they do on the jetstream package's own errors), or an error for an answer
// that is not an acknowledgement. A stored message's answer is checked
// without decoding it: it is on every job's path.
func AckError(m *nats.Msg) error {
	if st := m.Header.Get("Status"); st != "" {
		if st == "503" {
			return ErrNoStream
		}
		return fmt.Errorf("write failed: status %s %s", st, m.Header.Get("Description"))
	}
	if !bytes.Contains(m.Data, []byte(`"error"`)) {
		if !bytes.Contains(m.Data, []byte(`"seq"`)) {
			return fmt.Errorf("write failed: not a stream acknowledgement: %.200q", m.Data)
		}
		return nil
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil || resp.Error == nil {
		return fmt.Errorf("write failed: not a stream acknowledgement: %.200q", m.Data)
	}
	return fmt.Errorf("write failed: %w", resp.Error)
}

// IsDuplicate reports whether a stream's acknowledgement says the message was
// a duplicate: its Nats-Msg-Id was stored before, within the stream's
// duplicate window, and nothing new was stored.
func IsDuplicate(ack *nats.Msg) bool {
	// The server writes `"duplicate": true` by hand; tolerate either spacing.
	i := bytes.Index(ack.Data, []byte(`"duplicate":`))
	return i >= 0 && bytes.HasPrefix(bytes.TrimLeft(ack.Data[i+len(`"duplicate":`):], " "), []byte("true"))
}
