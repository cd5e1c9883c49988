package layout

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
		if have := s.CachedInfo().Config; !reflect.DeepEqual(mergeStream(have, want), have) {
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
	for _, name := range []string{ResultsBucket, StatusBucket, WorkersBucket, CancelledBucket, SchedulesBucket} {
		kv, err := EnsureBucket(ctx, js, c, name)
		if err != nil {
			t.Fatal(err)
		}
		// Again: a lookup and a status read, and no update.
		before := apiCalls()
		if _, err := EnsureBucket(ctx, js, c, name); err != nil {
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

// Merging adds naq's subjects and flags, never turns a flag off, and keeps
// every other setting of the existing stream.
func TestMergeStreamKeepsWhatItFinds(t *testing.T) {
	have := jetstream.StreamConfig{
		Name: JobsStream, Description: "made by another naq", Subjects: []string{"naq.queue.*"},
		MaxAge: time.Hour, Duplicates: 30 * time.Second, Replicas: 3, AllowMsgTTL: true, AllowDirect: false,
		Discard: jetstream.DiscardNew, MaxMsgsPerSubject: 1,
	}
	want := JobsStreamConfig(Config{Replicas: 1})
	m := mergeStream(have, want)
	if !reflect.DeepEqual(m.Subjects, []string{"naq.queue.*", "naq.delayed.*"}) {
		t.Errorf("subjects %v", m.Subjects)
	}
	if !m.AllowMsgTTL || !m.AllowMsgSchedules || !m.AllowAtomicPublish {
		t.Errorf("flags: ttl %v schedules %v atomic %v", m.AllowMsgTTL, m.AllowMsgSchedules, m.AllowAtomicPublish)
	}
	if m.Duplicates != 2*time.Minute {
		t.Errorf("duplicate window %s, want naq's 2m", m.Duplicates)
	}
	kept := m
	kept.Subjects, kept.AllowMsgSchedules, kept.AllowAtomicPublish, kept.AllowBatchPublish, kept.Duplicates =
		have.Subjects, have.AllowMsgSchedules, have.AllowAtomicPublish, have.AllowBatchPublish, have.Duplicates
	if diff := cmp.Diff(have, kept); diff != "" {
		t.Errorf("other settings changed (-have +merged):\n%s", diff)
	}
	// A duplicate window never outlasts the max age, and a longer one stays.
	short := have
	short.MaxAge = time.Minute
	if d := mergeStream(short, want).Duplicates; d != time.Minute {
		t.Errorf("duplicate window %s on a stream of max age 1m", d)
	}
	long := have
	long.Duplicates = 10 * time.Minute
	if d := mergeStream(long, want).Duplicates; d != 10*time.Minute {
		t.Errorf("a 10m duplicate window became %s", d)
	}
	// Nothing to add: the same config, so no update is sent.
	if diff := cmp.Diff(m, mergeStream(m, want)); diff != "" {
		t.Errorf("merging twice changed the config again (-once +twice):\n%s", diff)
	}
}
