package layout

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/internal/testutil"
)

// What provisioning creates counts as up to date afterwards, so later starts
// send no update.
func TestCreatedConfigsAreUpToDate(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	c := Config{}
	for name, want := range map[string]jetstream.StreamConfig{
		JobsStream: JobsStreamConfig(c),
	} {
		s, err := EnsureJobsStream(ctx, js, c)
		if err != nil {
			t.Fatal(err)
		}
		if !streamUpToDate(s.CachedInfo().Config, want) {
			t.Errorf("%s: created config does not count as up to date", name)
		}
	}
	if s, err := EnsureFailedStream(ctx, js, c); err != nil {
		t.Fatal(err)
	} else if _, err := js.Stream(ctx, s.CachedInfo().Config.Name); err != nil {
		t.Fatal(err)
	}
	apiCalls := func() uint64 {
		ai, err := js.AccountInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ai.API.Total
	}
	for _, ensure := range []func(context.Context, jetstream.JetStream, Config) (jetstream.KeyValue, error){
		EnsureResultsBucket, EnsureStatusBucket, EnsureWorkersBucket, EnsureCancelledBucket, EnsureSchedulesBucket,
	} {
		kv, err := ensure(ctx, js, c)
		if err != nil {
			t.Fatal(err)
		}
		// Again: a lookup and a status read, and no update.
		before := apiCalls()
		if _, err := ensure(ctx, js, c); err != nil {
			t.Fatal(err)
		}
		if n := apiCalls() - before - 1; n > 2 {
			t.Errorf("%s: provisioning an up-to-date bucket made %d API calls (an update)", kv.Bucket(), n)
		}
	}
	before := apiCalls()
	if _, err := EnsureJobsStream(ctx, js, c); err != nil {
		t.Fatal(err)
	}
	if n := apiCalls() - before - 1; n > 1 {
		t.Errorf("provisioning the up-to-date jobs stream made %d API calls (an update)", n)
	}
}
