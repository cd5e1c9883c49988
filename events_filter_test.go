package naq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/naqgo/naq"
)

// A type naq never publishes would follow nothing, forever: it is refused,
// with the list of the types there are.
func TestSubscribeEventsRefusesUnknownType(t *testing.T) {
	c, _ := newClient(t)
	_, err := c.SubscribeEvents(t.Context(), naq.EventFilter{Types: []naq.EventType{naq.EventFailed, "bogus"}})
	if !errors.Is(err, naq.ErrInvalidRequest) || !strings.Contains(err.Error(), `"bogus"`) ||
		!strings.Contains(err.Error(), "dead_lettered") {
		t.Errorf("SubscribeEvents with type bogus: %v; want ErrInvalidRequest naming it and the known types", err)
	}
	if err := c.FollowEvents(t.Context(), naq.EventFilter{Types: []naq.EventType{"Failed"}}, func(naq.Event) {}); !errors.Is(err, naq.ErrInvalidRequest) {
		t.Errorf("FollowEvents with type Failed: %v, want ErrInvalidRequest", err)
	}
	for _, typ := range naq.EventTypes() {
		s, err := c.SubscribeEvents(t.Context(), naq.EventFilter{Types: []naq.EventType{typ}})
		if err != nil {
			t.Fatalf("SubscribeEvents(%s): %v", typ, err)
		}
		_ = s.Close()
	}
}
