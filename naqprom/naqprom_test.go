package naqprom_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/testutil"
	"github.com/naqgo/naq/internal/workertest"
	"github.com/naqgo/naq/naqprom"
	"github.com/naqgo/naq/worker"
)

func TestQueueGaugesOverHTTP(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	w, err := worker.New(nc, worker.WithQueues("busy"), worker.WithLogger(testutil.Logger()), worker.WithPollWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	w.HandleFunc("block", func(ctx context.Context, _ *naq.Job) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	w.HandleFunc("fail", func(context.Context, *naq.Job) (any, error) { return nil, errors.New("no") })
	workertest.Run(t, w)

	for range 2 {
		if _, err := c.Enqueue(ctx, "x", nil, naq.Queue("idle")); err != nil {
			t.Fatal(err)
		}
	}
	failing, err := c.Enqueue(ctx, "fail", nil, naq.Queue("busy"))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := c.Wait(ctx, failing.ID); res == nil || res.Status != naq.StateFailed {
		t.Fatalf("result %+v", res)
	}
	if _, err := c.Enqueue(ctx, "block", nil, naq.Queue("busy")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueIn(ctx, time.Hour, "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Schedule(ctx, "x", nil, naq.Every(time.Hour)); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	srv := httptest.NewServer(naqprom.Handler(js, naqprom.WithCacheTTL(time.Nanosecond)))
	defer srv.Close()

	want := map[string]float64{
		`naq_queue_pending_jobs{queue="idle"}`:     2,
		`naq_queue_running_jobs{queue="busy"}`:     1,
		`naq_queue_pending_jobs{queue="busy"}`:     0,
		`naq_failed_jobs{queue="busy"}`:            1,
		`naq_delayed_jobs`:                         1,
		`naq_schedules`:                            1,
		`naq_workers`:                              1,
		`naq_up`:                                   1,
		`naq_queue_redelivered_jobs{queue="busy"}`: 0,
	}
	var got map[string]float64
	testutil.Eventually(t, 15*time.Second, "the gauges", func() bool {
		got = scrape(t, srv.URL)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	if age := got[`naq_queue_oldest_pending_job_age_seconds{queue="idle"}`]; age <= 0 || age > 60 {
		t.Errorf("oldest pending age %v", age)
	}
	if age := got[`naq_queue_oldest_pending_job_age_seconds{queue="busy"}`]; age != 0 {
		t.Errorf("oldest pending age of a queue with nothing waiting: %v", age)
	}
}

func TestScrapesShareAReading(t *testing.T) {
	_, nc := testutil.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := naq.NewClient(ctx, nc, naq.WithLogger(testutil.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	srv := httptest.NewServer(naqprom.Handler(js, naqprom.WithCacheTTL(time.Hour)))
	defer srv.Close()
	if got := scrape(t, srv.URL)[`naq_delayed_jobs`]; got != 0 {
		t.Fatalf("delayed %v", got)
	}
	if _, err := c.EnqueueIn(ctx, time.Hour, "x", nil); err != nil {
		t.Fatal(err)
	}
	// Within the cache TTL the server is not read again.
	if got := scrape(t, srv.URL)[`naq_delayed_jobs`]; got != 0 {
		t.Fatalf("delayed %v: the second scrape read the server again", got)
	}
}

// scrape reads every sample, keyed by name and labels as exposed.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}
