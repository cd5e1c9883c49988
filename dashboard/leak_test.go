package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
)

// Close stops the sampler, and a live stream ends with its request: nothing
// of the dashboard's outlives them.
func TestNoGoroutineOutlivesTheHandler(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("serve", func(t *testing.T) {
		_, nc := testutil.Server(t)
		c, err := naq.NewClient(t.Context(), nc, naq.WithLogger(testutil.Logger()))
		if err != nil {
			t.Fatal(err)
		}
		h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()), dashboard.WithRefresh(50*time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/live", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		if _, err := resp.Body.Read(buf); err != nil { // the stream is open
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		srv.Close()
		h.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	// The embedded server's clock and a file store's flusher wind down on
	// their own time; they are the server's, not the dashboard's.
	goleak.VerifyNone(t, ignore,
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"))
}
