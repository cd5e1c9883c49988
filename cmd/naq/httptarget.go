package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/redact"
	"github.com/naqgo/naq/worker"
)

// Error kinds of jobs delivered over HTTP; a job's retry_on and ignore_on can
// name them.
const (
	kindHTTPTimeout    = "http:timeout"    // no complete answer within the HTTP timeout
	kindHTTPConnection = "http:connection" // the request could not be sent or the answer read
	kindHTTPTooLarge   = "http:too_large"  // a 2xx answer too large to store as a result
	// Other statuses give "http:<class>xx": "http:4xx", "http:5xx"...
)

// defaultHTTPTimeout bounds a request when neither --http-timeout nor the
// job's own timeout does.
const defaultHTTPTimeout = 30 * time.Second

// httpTarget is a catch-all worker handler: it POSTs every job's wire JSON to
// one URL and turns the answer into the job's outcome.
type httpTarget struct {
	url string
	// shown is url with its credentials masked: what logs and job errors say.
	shown string
	// secrets are url's credentials, kept out of every error.
	secrets []string
	client  *http.Client
	// timeout bounds each request; 0: the job's timeout, else defaultHTTPTimeout.
	timeout time.Duration
	// maxResult is the largest result (encoded JSON) stored.
	maxResult int
}

func newHTTPTarget(url string, timeout time.Duration, conns int, maxResult int) *httpTarget {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	return &httpTarget{
		url:     url,
		shown:   redact.URL(url),
		secrets: urlSecrets(url),
		timeout: timeout,
		client: &http.Client{
			Transport: tr,
			// A redirect is an answer: a POST silently turned into a GET
			// elsewhere would lose the job.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxResult: maxResult,
	}
}

// ProcessJob delivers job: 2xx completes it with the body as its result, 5xx,
// 408, 425, 429, timeouts and connection errors are retried by the job's
// policy (no sooner than a Retry-After asks), any other status fails it
// without retry.
func (h *httpTarget) ProcessJob(ctx context.Context, job *naq.Job) (any, error) {
	body, err := job.Encode()
	if err != nil {
		return nil, worker.SkipRetry(fmt.Errorf("encode job %s: %w", job.ID, err))
	}
	timeout := h.timeout
	if timeout == 0 && job.Timeout == 0 {
		timeout = defaultHTTPTimeout
	}
	reqCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, worker.SkipRetry(h.scrub(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "naq-worker/"+version)
	req.Header.Set("X-Naq-Job-Id", job.ID)
	req.Header.Set("X-Naq-Attempt", strconv.Itoa(job.Attempt))
	req.Header.Set("X-Naq-Queue", job.Queue)
	req.Header.Set("X-Naq-Function", job.Name)

	resp, err := h.client.Do(req)
	if err != nil {
		return nil, h.transportError(ctx, reqCtx, timeout, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(h.maxResult)+1))
	if err != nil {
		return nil, h.transportError(ctx, reqCtx, timeout, err)
	}
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		value := resultValue(data)
		if len(value) > h.maxResult || len(data) > h.maxResult {
			return nil, worker.SkipRetry(&worker.Error{Kind: kindHTTPTooLarge,
				Err: fmt.Errorf("POST %s: %s: the response body is too large to store as the result (at most %d bytes)", h.shown, resp.Status, h.maxResult)})
		}
		return value, nil
	}
	herr := &worker.Error{Kind: fmt.Sprintf("http:%dxx", code/100), Err: fmt.Errorf("POST %s: %s%s", h.shown, resp.Status, bodySnippet(data))}
	if !retryable(code) {
		return nil, worker.SkipRetry(herr)
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return nil, worker.RetryAfter(d, herr)
	}
	return nil, herr
}

// retryable reports whether a failed answer may succeed later: a server error,
// or a 4xx that says "not now" (request timeout, too early, too many
// requests) rather than "never".
func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// maxRetryAfter bounds the wait a Retry-After header can ask for.
const maxRetryAfter = 7 * 24 * time.Hour

// retryAfter reads a Retry-After header: a number of seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// transportError classifies a failed request. The job's own end (its
// timeout, a cancellation, a forced shutdown) is returned as it is, for the
// worker to handle; the HTTP timeout and connection errors get their kinds.
func (h *httpTarget) transportError(jobCtx, reqCtx context.Context, timeout time.Duration, err error) error {
	if jobCtx.Err() != nil {
		return fmt.Errorf("POST %s: %w", h.shown, jobCtx.Err())
	}
	var ne net.Error
	if errors.Is(reqCtx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &worker.Error{Kind: kindHTTPTimeout, Err: fmt.Errorf("POST %s: no complete response within %s: %w", h.shown, timeout, context.DeadlineExceeded)}
	}
	return &worker.Error{Kind: kindHTTPConnection, Err: h.scrub(err)}
}

// scrub keeps the target's credentials out of err's text, which becomes the
// job's stored error; errors.Is and errors.As still see err.
func (h *httpTarget) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = h.shown
	}
	if msg := redact.Text(err.Error(), h.secrets...); msg != err.Error() {
		return &scrubbedError{msg: msg, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// urlSecrets are the credentials in a URL: its password, or a user part that
// stands alone (a token).
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	if p, ok := u.User.Password(); ok {
		return []string{p}
	}
	return []string{u.User.Username()}
}

// resultValue turns a 2xx body into the job's result: valid JSON as it is, an
// empty body as null, anything else as a JSON string.
func resultValue(body []byte) json.RawMessage {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return json.RawMessage("null")
	case json.Valid(trimmed):
		var b bytes.Buffer
		if json.Compact(&b, trimmed) == nil {
			return b.Bytes()
		}
		return trimmed
	}
	s, _ := json.Marshal(string(body))
	return s
}

// bodySnippet is the start of an error answer's body, on one line, for the
// job's error message.
func bodySnippet(body []byte) string {
	const max = 300
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	if s == "" {
		return ""
	}
	return ": " + s
}
