package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
)

// Record 0 does not exist: its page and its actions answer 404, not 502 as
// if the server had failed.
func TestFailedRecordZeroIsNotFound(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := dashboard.New(c, dashboard.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer func() {
		srv.CloseClientConnections()
		srv.Close()
		h.Close()
	}()
	cl := &http.Client{Jar: newJar(t)}
	resp, err := cl.Get(srv.URL + "/failed/0")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /failed/0: %d, want 404\n%s", resp.StatusCode, body)
	}
	token := csrfFrom(t, cl, srv.URL+"/failed/confirm/delete")
	for _, action := range []string{"requeue", "delete"} {
		resp, err := cl.PostForm(srv.URL+"/failed/0/"+action, url.Values{"csrf": {token}})
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /failed/0/%s: %d, want 404\n%s", action, resp.StatusCode, body)
		}
	}
}
