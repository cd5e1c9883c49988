package dashboard_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/naqgo/naq"
)

// chromium finds the browser the browser test drives. NAQ_CHROME names one;
// otherwise Debian's chromium (apt-get install -y chromium) or Chrome.
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("NAQ_BROWSER_TESTS") == "0" {
		t.Skip("NAQ_BROWSER_TESTS=0: browser test skipped")
	}
	if p := os.Getenv("NAQ_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install it (apt-get install -y chromium), name it in NAQ_CHROME, or set NAQ_BROWSER_TESTS=0 to skip this test")
	return ""
}

// startBrowser starts Chromium and returns a context holding its first tab.
// On a machine without a D-Bus system bus, Chromium's D-Bus thread now and
// then dies of a null pointer before the browser is up (SIGSEGV, "chrome
// failed to start"): a failed start is retried; a crash once the browser is
// up fails the test.
func startBrowser(t *testing.T, opts []chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	const attempts = 3
	for i := 1; ; i++ {
		actx, cancelA := chromedp.NewExecAllocator(t.Context(), opts...)
		ctx, cancelB := chromedp.NewContext(actx)
		err := chromedp.Do(ctx) // starts the browser and opens its first tab
		if err == nil {
			t.Cleanup(func() { cancelB(); cancelA() })
			return ctx
		}
		cancelB()
		cancelA()
		if i == attempts {
			t.Fatalf("start Chromium (attempt %d of %d): %v", i, attempts, err)
		}
		t.Logf("Chromium crashed while starting (attempt %d of %d), starting it again: %v", i, attempts, err)
	}
}

// browser is a headless Chromium on the fixture's dashboard.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string // directory for screenshots, "" for none
}

func newBrowser(t *testing.T, f *fixture) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-component-update", true))
	if os.Geteuid() == 0 { // Chromium refuses to sandbox itself as root (containers, CI)
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx := startBrowser(t, opts)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelT)
	b := &browser{t: t, ctx: ctx, base: f.srv.URL}
	if os.Getenv("NAQ_DASHBOARD_SCREENSHOTS") != "" {
		b.shots = filepath.Join("..", "docs", "dashboard")
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// open loads a page and waits for its main content.
func (b *browser) open(path, ready string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(css(ready)))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return value(b, "read "+sel, chromedp.Text(css(sel)))
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	png := value(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// The dashboard in a real browser: every page opens, job data shows as text,
// and requeue, pause, cancel, purge and a schedule's pause reach the server.
func TestBrowserPagesAndActions(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f)
	ctx := t.Context()

	b.open("/", "#ov-queues")
	if s := b.text("#ov-queues"); !strings.Contains(s, "backlog") || !strings.Contains(s, "emails") {
		t.Fatalf("overview shows no queues:\n%s", s)
	}
	value(b, "the live stream to open", chromedp.Poll[bool](`document.getElementById("live-state").className.includes("on")`, chromedp.WithPollingTimeout(time.Minute)))
	// Work done while the page is open shows in the live feed and, without
	// a reload, in the throughput chart.
	for i := range 30 {
		if _, err := f.client.Enqueue(ctx, "send", map[string]int{"n": i}, naq.Queue("emails")); err != nil {
			t.Fatal(err)
		}
	}
	value(b, "the chart", chromedp.Poll[bool](`!document.getElementById("ov-chart").innerText.includes("hour total 0 ")`, chromedp.WithPollingTimeout(time.Minute)))
	// The feed passes at most 20 events a second: one job, once the burst
	// is over, shows.
	j, err := f.client.Enqueue(ctx, "send", map[string]int{"n": 30}, naq.Queue("emails"))
	if err != nil {
		t.Fatal(err)
	}
	value(b, "the live feed", chromedp.Poll[bool](`document.getElementById("feed").innerText.includes("`+j.ID+`")`, chromedp.WithPollingTimeout(time.Minute)))
	b.screenshot("overview")

	// Hostile arguments are text on the queue page and on the job page.
	b.open("/queues/backlog", "#q-jobs")
	title := value(b, "title", chromedp.Title())
	injected := value(b, "look for injected markup",
		chromedp.Evaluate[bool](`document.querySelector("img[src=x]") !== null || document.querySelectorAll("script:not([src])").length > 0`))
	if injected || strings.Contains(title, "pwned") {
		t.Fatalf("job arguments became markup (title %q)", title)
	}
	if s := b.text("#q-jobs"); !strings.Contains(s, `<script>document.title=\"pwned\"</script><img src=x onerror=alert(1)>`) {
		t.Fatalf("hostile arguments not shown as text:\n%s", s)
	}
	b.screenshot("queue")
	b.run("open the hostile job", chromedp.Click(css(`a[href^="/jobs/`+f.evilID+`"]`)), chromedp.WaitVisible(css("#args")))
	if s := b.text("#args"); !strings.Contains(s, `<script>document.title=\"pwned\"</script><img src=x onerror=alert(1)>`) {
		t.Fatalf("job page arguments:\n%s", s)
	}

	// Pause, then resume, the backlog queue.
	b.open("/queues/backlog", "#q-jobs")
	b.run("pause", chromedp.Click(css("#pause")), chromedp.WaitVisible(css("#paused")))
	if q, err := f.client.Queue(ctx, "backlog"); err != nil || !q.Paused {
		t.Fatalf("after clicking pause: %+v %v", q, err)
	}
	b.run("resume", chromedp.Click(css("#resume")), chromedp.WaitVisible(css("#pause")))
	if q, _ := f.client.Queue(ctx, "backlog"); q.Paused {
		t.Fatal("still paused after clicking resume")
	}

	// Failed jobs: the list, a record, then requeue it.
	b.open("/failed", "#failed-list")
	if s := b.text("#failed-list"); !strings.Contains(s, `smtp said <b>no</b> & "bye"`) {
		t.Fatalf("failed list:\n%s", s)
	}
	b.screenshot("failed")
	page, err := f.client.FailedPage(ctx, naq.FailedQuery{})
	if err != nil || len(page.Records) != 5 || page.Records[0].Malformed {
		t.Fatalf("failed records: %+v %v", page, err)
	}
	first := page.Records[0]
	b.open("/failed/"+itoa(first.Seq), "#requeue")
	b.screenshot("failed_detail")
	b.run("requeue", chromedp.Click(css("#requeue")), chromedp.WaitVisible(css(".flash")))
	if _, err := f.client.FailedJob(ctx, first.Seq); !errors.Is(err, naq.ErrJobNotFound) {
		t.Fatalf("record %d still there after requeue: %v", first.Seq, err)
	}
	// It runs again and, the handler being broken still, fails again.
	waitFailedAgain(t, f, first.JobID, first.Seq)

	b.open("/workers", "#workers-list")
	if s := b.text("#workers-list"); !strings.Contains(s, f.blockID+" for ") {
		t.Errorf("workers page does not show the running job with its running time:\n%s", s)
	}
	b.screenshot("workers")

	// Cancel the running job.
	b.open("/jobs/"+f.blockID, "#cancel")
	if s := b.text("#job-state"); !strings.Contains(s, "Running for") {
		t.Errorf("job page does not say how long the job runs:\n%s", s)
	}
	b.screenshot("job")
	b.run("cancel", chromedp.Click(css("#cancel")), chromedp.WaitVisible(css(".flash")))
	if st, err := f.client.Status(ctx, f.blockID); err != nil || st.State != naq.StateCancelled {
		t.Fatalf("after clicking cancel: %+v %v", st, err)
	}
	if s := b.text("#state"); s != "cancelled" {
		t.Errorf("job page says %q", s)
	}

	// Schedules: pause from the list.
	b.open("/schedules", "#sched-list")
	b.screenshot("schedules")
	b.run("pause the schedule", chromedp.Click(css(`#s-hourly-digest form[action$="/pause"] button`)), chromedp.WaitVisible(css(".flash")))
	if s, err := f.client.GetSchedule(ctx, f.sched); err != nil || s.State != naq.SchedulePaused {
		t.Fatalf("after clicking pause: %+v %v", s, err)
	}

	// Purge asks first.
	b.open("/queues/backlog", "#q-jobs")
	b.run("purge", chromedp.Click(css(`a[href$="/confirm/purge"]`)), chromedp.WaitVisible(css("#confirm")))
	if q, _ := f.client.Queue(ctx, "backlog"); q.Messages != 4 {
		t.Fatalf("purged before confirming: %+v", q)
	}
	b.run("confirm purge", chromedp.Click(css("#confirm")), chromedp.WaitVisible(css(".flash")))
	if q, err := f.client.Queue(ctx, "backlog"); err == nil && q.Messages != 0 {
		t.Fatalf("after confirming purge: %+v", q)
	}
}

func waitFailedAgain(t *testing.T, f *fixture, jobID string, oldSeq uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		page, err := f.client.FailedPage(t.Context(), naq.FailedQuery{FailedFilter: naq.FailedFilter{Queue: "emails"}})
		if err == nil {
			for _, r := range page.Records {
				if r.JobID == jobID && r.Seq > oldSeq {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("requeued job %s did not run again", jobID)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
