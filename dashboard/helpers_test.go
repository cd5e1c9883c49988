package dashboard_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"testing"
)

func newJar(t *testing.T) http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfFrom opens a page and returns the CSRF token of its forms.
func csrfFrom(t *testing.T, cl *http.Client, u string) string {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := csrfField.FindStringSubmatch(readAll(t, resp))
	if m == nil {
		t.Fatalf("no CSRF token on %s", u)
	}
	return m[1]
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func httpReq(method, target string) *http.Request { return httptest.NewRequest(method, target, nil) }
