package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/naqgo/naq/embedded"
)

// TestRunReportIsComplete runs a small benchmark and checks that every
// scenario ran and every job was processed with its result stored. It makes
// no claim about speed.
func TestRunReportIsComplete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const jobs, rounds = 300, 2
	var out bytes.Buffer
	rep, err := Run(ctx, Config{Jobs: jobs, Concurrency: 50, Rounds: rounds, Dir: t.TempDir()}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if rep.Jobs != jobs || rep.Rounds != rounds || rep.Concurrency != 50 {
		t.Errorf("report config = %d jobs, %d rounds, concurrency %d", rep.Jobs, rep.Rounds, rep.Concurrency)
	}
	if rep.PayloadBytes < 250 || rep.PayloadBytes > 400 {
		t.Errorf("payload is %d bytes, want a typical job of about 300", rep.PayloadBytes)
	}
	if rep.Processed != jobs*rounds || rep.Results != jobs*rounds {
		t.Errorf("processed %d jobs and stored %d results, want %d each", rep.Processed, rep.Results, jobs*rounds)
	}
	if len(rep.Scenarios) != len(scenarioDefs) {
		t.Fatalf("%d scenarios in the report, want %d", len(rep.Scenarios), len(scenarioDefs))
	}
	for _, d := range scenarioDefs {
		name := d.Name
		s := rep.Scenario(name)
		if s == nil {
			t.Errorf("scenario %s missing", name)
			continue
		}
		if s.Jobs != jobs || len(s.Rates) != rounds || len(s.RawRates) != rounds {
			t.Errorf("%s: %d jobs, %d rates, %d raw rates", name, s.Jobs, len(s.Rates), len(s.RawRates))
		}
		for i := range s.Rates {
			if s.Rates[i] <= 0 || s.RawRates[i] <= 0 {
				t.Errorf("%s round %d: rate %v, raw rate %v", name, i+1, s.Rates[i], s.RawRates[i])
			}
		}
		if s.Rate <= 0 || s.RawRate <= 0 || s.Ratio <= 0 || s.Seconds <= 0 {
			t.Errorf("%s: rate %v, raw rate %v, ratio %v, seconds %v", name, s.Rate, s.RawRate, s.Ratio, s.Seconds)
		}
		if !strings.Contains(out.String(), name) {
			t.Errorf("table lacks scenario %s", name)
		}
	}
	for name, target := range map[string]float64{Enqueue: 0.80, Bulk: 0.60, Process: 0.50} {
		if s := rep.Scenario(name); s != nil && s.Target != target {
			t.Errorf("%s: target %v, want %v", name, s.Target, target)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

// Against a server of its own over TCP the benchmark runs as on the embedded
// one and says where it ran; a server that already holds naq's streams (here,
// the first run's) is refused, since the benchmark would purge them.
func TestRunAgainstAServerOfItsOwn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := embedded.Start(t.TempDir(), embedded.WithListen("127.0.0.1", -1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := Config{Jobs: 200, Concurrency: 20, Rounds: 1, URL: srv.ClientURL()}
	var out bytes.Buffer
	rep, err := Run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if rep.Processed != 200 || rep.Results != 200 {
		t.Errorf("processed %d jobs and stored %d results, want 200 each", rep.Processed, rep.Results)
	}
	if rep.Server != srv.ClientURL() || !strings.Contains(out.String(), "CPU columns count this process only") {
		t.Errorf("report server %q; table:\n%s", rep.Server, out.String())
	}
	if _, err := Run(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "server of its own") {
		t.Errorf("second run on the same server: %v, want a refusal", err)
	}
	cfg.Dir = t.TempDir()
	if _, err := Run(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("URL and directory together: %v, want an error", err)
	}
}
