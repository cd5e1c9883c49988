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
		kv, err := layout.EnsureBucket(ctx, js, layout.Config{}, layout.ResultsBucket)
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

func TestAllowBatchesTurnsFastBatchesOnAndStaysOn(t *testing.T) {
	_, nc := testutil.Server(t)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := layout.EnsureBucket(ctx, js, layout.Config{}, layout.ResultsBucket); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ok, err := layout.AllowBatches(ctx, js, layout.ResultsStream)
		if err != nil || !ok {
			t.Fatalf("AllowBatches: %v, %v", ok, err)
		}
		// Provisioning the bucket again leaves the option alone.
		if _, err := layout.EnsureBucket(ctx, js, layout.Config{}, layout.ResultsBucket); err != nil {
			t.Fatal(err)
		}
		s, err := js.Stream(ctx, layout.ResultsStream)
		if err != nil {
			t.Fatal(err)
		}
		if !s.CachedInfo().Config.AllowBatchPublish {
			t.Fatal("the results stream does not take batches")
		}
	}
	if _, err := layout.AllowBatches(ctx, js, "no_such_stream"); err == nil {
		t.Fatal("AllowBatches on a missing stream: no error")
	}
	s, err := layout.EnsureJobsStream(ctx, js, layout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.CachedInfo().Config.AllowBatchPublish {
		t.Fatal("naq_jobs does not take batches")
	}
}
