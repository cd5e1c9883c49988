package layout_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/layout"
	"github.com/naqgo/naq/internal/testutil"
)

// Provisioning is idempotent, brings an older config up to date, and leaves
// an up-to-date one alone.
func TestProvisioningUpdatesOnlyWhatDiffers(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	old := layout.JobsStreamConfig(layout.Config{})
	old.Subjects, old.AllowMsgSchedules, old.Description = []string{"naq.queue.*"}, false, "made by an older version"
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	s, err := layout.EnsureJobsStream(ctx, js, layout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	if !info.Config.AllowMsgSchedules || len(info.Config.Subjects) != 2 {
		t.Fatalf("not brought up to date: %+v", info.Config)
	}
	created := info.Created
	for range 2 {
		if _, err := layout.EnsureJobsStream(ctx, js, layout.Config{}); err != nil {
			t.Fatal(err)
		}
		kv, err := layout.EnsureResultsBucket(ctx, js, layout.Config{})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := kv.Status(ctx)
		if st.TTL() != layout.DefaultResultTTL {
			t.Fatalf("results TTL %s", st.TTL())
		}
	}
	if info, _ = s.Info(ctx); !info.Created.Equal(created) {
		t.Fatal("the stream was made anew")
	}
}
