package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
	"github.com/naqgo/naq/internal/testutil"
)

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every page renders, shows what the server holds, and shows a job's
// hostile arguments and error text escaped, never as markup.
func TestPagesRenderEscaped(t *testing.T) {
	f := newFixture(t)
	pages := map[string][]string{
		"/":                             {"emails", "backlog", "reports", "naq_jobs"},
		"/queues/backlog":               {f.evilID, "later", "&lt;script&gt;"},
		"/queues/backlog?tab=all":       {f.evilID},
		"/queues/reports?tab=running":   {f.blockID, "running"},
		"/failed":                       {f.failed[0], "smtp said &lt;b&gt;no&lt;/b&gt;"},
		"/failed?function=send":         {"No failed jobs"},
		"/jobs/" + f.failed[0]:          {"failed", "smtp said &lt;b&gt;no&lt;/b&gt;", "dead_lettered"},
		"/jobs/" + f.blockID:            {"running", "Cancel job"},
		"/schedules":                    {"hourly-digest", "Run now"},
		"/workers":                      {"emails", "reports", f.blockID},
		"/queues/backlog/confirm/purge": {"Remove every job waiting on queue backlog"},
	}
	for path, wants := range pages {
		code, body := f.get(t, path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, code, body)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", path, w)
			}
		}
		if strings.Contains(body, "<script>document") || strings.Contains(body, "<b>no</b>") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s: job data rendered as markup", path)
		}
	}
	// The hostile job's own page, reached from its queue, shows its arguments.
	_, qpage := f.get(t, "/queues/backlog")
	link := regexp.MustCompile(`href="(/jobs/` + f.evilID + `\?seq=\d+)"`).FindStringSubmatch(qpage)
	if link == nil {
		t.Fatalf("no link to the job with its sequence in\n%s", qpage)
	}
	code, body := f.get(t, strings.ReplaceAll(link[1], "&amp;", "&"))
	if code != 200 || !strings.Contains(body, "&lt;script&gt;document.title=") || strings.Contains(body, "<script>document") {
		t.Errorf("job page of the hostile job: %d\n%s", code, body)
	}
	// Malformed messages: their bytes as text, or as a hex dump.
	page, err := f.client.FailedPage(t.Context(), naq.FailedQuery{FailedFilter: naq.FailedFilter{ErrorKind: "malformed"}})
	if err != nil || len(page.Records) != 2 {
		t.Fatalf("malformed records: %+v %v", page, err)
	}
	text, bin := page.Records[0], page.Records[1]
	if string(text.Raw) != badText { // the worker records them in the order it meets them
		text, bin = bin, text
	}
	_, body = f.get(t, "/failed/"+strconv.FormatUint(text.Seq, 10))
	if !strings.Contains(body, "&lt;script&gt;alert(&#39;raw&#39;)&lt;/script&gt;") || strings.Contains(body, "<script>alert") {
		t.Errorf("malformed text record:\n%s", body)
	}
	_, body = f.get(t, "/failed/"+strconv.FormatUint(bin.Seq, 10))
	if !strings.Contains(body, "00000000  ff fe 3c 73 63 72 69 70 74 3e") || strings.Contains(body, "<script>alert") {
		t.Errorf("malformed binary record:\n%s", body)
	}
	for _, kind := range []string{"malformed", "naq:MalformedJob"} {
		if _, body := f.get(t, "/failed?kind="+url.QueryEscape(kind)); strings.Count(body, "malformed message") != 2 || strings.Contains(body, "flaky") {
			t.Errorf("failed list filtered by kind %s:\n%s", kind, body)
		}
	}
	if code, _ := f.get(t, "/queues/no%20such"); code != http.StatusBadRequest {
		t.Errorf("invalid queue name: %d", code)
	}
	if code, _ := f.get(t, "/static/live.js"); code != 200 {
		t.Errorf("static: %d", code)
	}
}

// A POST without the page's CSRF token, or from another origin, changes
// nothing; with it, the action happens.
func TestActionsNeedCSRFToken(t *testing.T) {
	f := newFixture(t)
	jar := newJar(t)
	cl := &http.Client{Jar: jar}
	resp, err := cl.PostForm(f.srv.URL+"/queues/backlog/pause", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged token: %d", resp.StatusCode)
	}
	token := csrfFrom(t, cl, f.srv.URL+"/queues/backlog")
	req, _ := http.NewRequest("POST", f.srv.URL+"/queues/backlog/pause", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := cl.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", resp.StatusCode)
	}
	if q, _ := f.client.Queue(t.Context(), "backlog"); q.Paused {
		t.Fatal("paused by a refused request")
	}
	resp, err = cl.PostForm(f.srv.URL+"/queues/backlog/pause", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(body, "queue backlog paused") {
		t.Errorf("pause: %d\n%s", resp.StatusCode, body)
	}
	if q, _ := f.client.Queue(t.Context(), "backlog"); !q.Paused {
		t.Error("queue not paused")
	}
}

func TestReadOnlyRefusesActions(t *testing.T) {
	f := newFixture(t, dashboard.ReadOnly())
	_, body := f.get(t, "/queues/backlog")
	if strings.Contains(body, `action="/queues/backlog/pause"`) {
		t.Error("read-only page shows the pause form")
	}
	resp, err := http.PostForm(f.srv.URL+"/jobs/"+f.blockID+"/cancel", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST in read-only mode: %d", resp.StatusCode)
	}
	if st, _ := f.client.Status(t.Context(), f.blockID); st.State != naq.StateRunning {
		t.Errorf("job state %s", st.State)
	}
}

func TestTokenAndBasicAuth(t *testing.T) {
	_, nc := testutil.Server(t)
	c, err := naq.NewClient(t.Context(), nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dashboard.New(c, dashboard.WithToken("short")); err == nil {
		t.Error("a short token was accepted")
	}
	tok, err := dashboard.New(c, dashboard.WithToken("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	basic, err := dashboard.New(c, dashboard.WithBasicAuth("ops", "s3cret"), dashboard.WithPrefix("/naq"))
	if err != nil {
		t.Fatal(err)
	}
	defer basic.Close()
	check := func(h http.Handler, req *http.Request, want int) {
		t.Helper()
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s %s: %d, want %d", req.Method, req.URL, rec.Code, want)
		}
	}
	check(tok, httpReq("GET", "/workers"), http.StatusUnauthorized)
	check(tok, httpReq("GET", "/workers?token=wrong-token-wrong-token"), http.StatusUnauthorized)
	check(tok, httpReq("GET", "/workers?token=0123456789abcdef0123"), http.StatusSeeOther)
	r := httpReq("GET", "/workers")
	r.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
	check(tok, r, http.StatusOK)
	check(basic, httpReq("GET", "/naq/workers"), http.StatusUnauthorized)
	r = httpReq("GET", "/naq/workers")
	r.SetBasicAuth("ops", "s3cret")
	check(basic, r, http.StatusOK)
}

// The live stream sends an update when a job event arrives.
func TestLiveStreamSendsEvents(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	j, err := f.client.Enqueue(ctx, "send", nil, naq.Queue("emails"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.Contains(got.String(), j.ID) || !strings.Contains(got.String(), "event: update") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("stream ended: %v\n%s", err, got.String())
		}
		got.Write(buf[:n])
	}
}
