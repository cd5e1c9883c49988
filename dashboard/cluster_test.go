package dashboard_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/embedded"
	"github.com/naqgo/naq/internal/testutil"
)

// On a three-server cluster the overview names the cluster, its nodes, and
// each stream's leader and replicas.
func TestOverviewShowsClusterHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("three-server cluster: skipped with -short")
	}
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var first *embedded.Server
	for i := range ports {
		var routes []string
		for k, p := range ports {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		srv, err := embedded.Start(t.TempDir(), embedded.WithName(fmt.Sprintf("node%d", i+1)),
			embedded.WithListen("127.0.0.1", -1), embedded.WithCluster("dash-test", "127.0.0.1", ports[i], routes...),
			embedded.WithLimits(64<<20, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Shutdown)
		if first == nil {
			first = srv
		}
	}
	nc, err := nats.Connect(first.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	// The cluster elects its JetStream leader first: a request made before
	// that waits out its timeout, so each try gets a short one.
	var c *naq.Client
	for ctx.Err() == nil {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err = naq.NewClient(attempt, nc, naq.WithLogger(testutil.Logger()))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, "send", nil, naq.Queue("clustered")); err != nil {
		t.Fatal(err)
	}
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("overview: %d\n%s", rec.Code, body)
	}
	for _, want := range []string{"cluster <strong>dash-test</strong>", "3 nodes: node1, node2, node3", "clustered"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview: no %q", want)
		}
	}
	// naq_jobs has a leader and two replicas, all named.
	i := strings.Index(body, "<td>naq_jobs</td>")
	if i < 0 {
		t.Fatalf("no naq_jobs row in\n%s", body)
	}
	row, _, _ := strings.Cut(body[i:], "</tr>")
	if strings.Count(row, "node") != 3 {
		t.Errorf("naq_jobs row names not a leader and two replicas: %s", row)
	}
}
