package fetch

import (
	"testing"

	"github.com/nats-io/nats.go"
)

func TestPulledMetadata(t *testing.T) {
	for _, reply := range []string{
		"$JS.ACK.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.9",
		"$JS.ACK._.ACCHASH.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.9.rand",
		"$JS.ACK.hub.ACCHASH.naq_jobs.naq-worker-q.3.42.17.1764230400250000000.9",
	} {
		md, err := (&Msg{m: &nats.Msg{Reply: reply}}).Metadata()
		if err != nil {
			t.Fatalf("%s: %v", reply, err)
		}
		if md.Stream != "naq_jobs" || md.Consumer != "naq-worker-q" || md.NumDelivered != 3 || md.Sequence.Stream != 42 ||
			md.Sequence.Consumer != 17 || md.Timestamp.UnixNano() != 1764230400250000000 || md.NumPending != 9 {
			t.Fatalf("%s: %+v", reply, md)
		}
	}
	if _, err := (&Msg{m: &nats.Msg{Reply: "_INBOX.x"}}).Metadata(); err == nil {
		t.Fatal("a plain reply parsed as JetStream metadata")
	}
}
