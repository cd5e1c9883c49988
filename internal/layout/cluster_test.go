package layout_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/layout"
)

// cluster starts three in-process servers routed to each other and returns a
// connection to the first.
func cluster(t *testing.T) *nats.Conn {
	t.Helper()
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var servers []*embedded.Server
	for i := range ports {
		var routes []string
		for k, p := range ports {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		srv, err := embedded.Start(t.TempDir(), embedded.WithName(fmt.Sprintf("n%d", i+1)),
			embedded.WithListen("127.0.0.1", -1), embedded.WithCluster("layout-test", "127.0.0.1", ports[i], routes...),
			embedded.WithLimits(64<<20, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, srv)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.Shutdown()
		}
	})
	nc, err := nats.Connect(servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// On a three-server cluster a new layout gets three replicas without being
// asked; a process configured for one replica does not lower them; only
// SetReplicas changes them.
func TestReplicasOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster: skipped with -short")
	}
	nc := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	var (
		s   jetstream.Stream
		err error
	)
	// The cluster elects its JetStream leader first.
	for ctx.Err() == nil {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err = layout.EnsureJobsStream(attempt, js, layout.Config{})
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().Config.Replicas; n != 3 {
		t.Fatalf("new jobs stream on a 3-node cluster: %d replicas, want 3", n)
	}
	kv, err := layout.EnsureBucket(ctx, js, layout.Config{}, layout.ResultsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := kv.Status(ctx); st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas != 3 {
		t.Fatal("new results bucket on a 3-node cluster: not 3 replicas")
	}
	one := layout.Config{Replicas: 1}
	if _, err = layout.EnsureJobsStream(ctx, js, one); err != nil {
		t.Fatal(err)
	}
	if _, err = layout.EnsureBucket(ctx, js, one, layout.ResultsBucket); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{layout.JobsStream, layout.ResultsStream} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if n := st.CachedInfo().Config.Replicas; n != 3 {
			t.Errorf("%s: a process asking for one replica lowered it to %d", name, n)
		}
	}
	changed, err := layout.SetReplicas(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 {
		t.Errorf("SetReplicas changed %v, want the jobs stream and the results bucket", changed)
	}
	st, _ := js.Stream(ctx, layout.JobsStream)
	if n := st.CachedInfo().Config.Replicas; n != 1 {
		t.Errorf("after SetReplicas(1): %d replicas", n)
	}
	if _, err := layout.SetReplicas(ctx, js, 0); err == nil {
		t.Error("SetReplicas(0): no error")
	}
}
