package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/worker"
)

func pythonRecord(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "python", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// skipLines returns stderr's lines about records another naq wrote.
func skipLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "written by another naq") {
			out = append(out, l)
		}
	}
	return out
}

func wantSkipLine(t *testing.T, cmd, stderr, want string) {
	t.Helper()
	if got := skipLines(stderr); len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("naq %s: lines about skipped records %q, want one saying %q\nstderr:\n%s", cmd, got, want, stderr)
	}
}

// Every listing and read of the CLI on a server where Python naq wrote its
// records (testdata/python, byte for byte): what is plain data shows, the
// rest is skipped with one line.
func TestCLIReadsPythonRecords(t *testing.T) {
	e := newOpsEnv(t)
	ctx := t.Context()
	if _, err := e.client.ListWorkers(ctx); err != nil { // provisions the lazy buckets and stream
		t.Fatal(err)
	}
	if _, err := e.client.ListFailed(ctx, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ListSchedules(ctx); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(e.nc)
	put := func(bucket, key string, data []byte) {
		kv, err := js.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
	}
	put("naq_workers", "naq-worker-pyhost-4242-a1b2c3", pythonRecord(t, "worker-idle-p4.pickle"))
	put("naq_workers", "naq-worker-pyhost-4243-d4e5f6", pythonRecord(t, "worker-busy-p5.pickle"))
	for i := range 3 {
		put("naq_workers", fmt.Sprintf("odd-%d", i), pythonRecord(t, "refuse-object.pickle"))
	}
	for i := range 3 {
		put("naq_scheduled_jobs", fmt.Sprintf("5d41402abc4b2a76b9719d911017c59%d", i), pythonRecord(t, "schedule-p4.pickle"))
	}
	const failedID = "00000000000000000000000000000b01"
	put("naq_results", failedID, pythonRecord(t, "result-failed.json"))
	put("naq_job_status", failedID, []byte("failed"))
	ack, err := js.Publish(ctx, "naq.failed.text_jobs", pythonRecord(t, "failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "naq.failed.text_jobs", pythonRecord(t, "schedule-p4.pickle")); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := e.run(t, "workers")
	if code != 0 {
		t.Fatalf("naq workers: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"naq-worker-pyhost-4242-a1b2c3", "idle", "naq-worker-pyhost-4243-d4e5f6", "busy",
		"(python)", "1 (0f9e8d7c6b5a49382716051423324150)"} {
		if !strings.Contains(out, want) {
			t.Errorf("naq workers: no %q in\n%s", want, out)
		}
	}
	wantSkipLine(t, "workers", stderr, "3 worker records written by another naq skipped")

	out, stderr, code = e.run(t, "failed", "list")
	if code != 0 {
		t.Fatalf("naq failed list: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "count_words") || !strings.Contains(out, "division by zero") || strings.Contains(out, "0001-01-01") {
		t.Errorf("naq failed list:\n%s", out)
	}
	wantSkipLine(t, "failed list", stderr, "1 failed-job record written by another naq skipped")

	out = e.ok(t, "failed", "show", fmt.Sprint(ack.Sequence))
	for _, want := range []string{"count_words", "7d793037a0760186574b0282f2f435e7", "ZeroDivisionError", "('some text',)",
		"{'lang': 'en'}", "Python naq", "2026-01-01T00:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("naq failed show: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "0001-01-01") {
		t.Errorf("naq failed show: no failure time\n%s", out)
	}

	out, stderr, code = e.run(t, "schedule", "list")
	if code != 0 || strings.TrimSpace(out) != "no schedules" {
		t.Fatalf("naq schedule list: exit %d\n%s\n%s", code, out, stderr)
	}
	wantSkipLine(t, "schedule list", stderr, "3 schedules written by another naq skipped")

	out = e.ok(t, "job", "status", failedID)
	if !strings.Contains(out, "failed") || !strings.Contains(out, "division by zero") {
		t.Errorf("naq job status of a Python job:\n%s", out)
	}
	if errOut := e.exits(t, 1, "job", "result", failedID); !strings.Contains(errOut, "division by zero") {
		t.Errorf("naq job result of a failed Python job: %s", errOut)
	}
}

// A job a producer published to naq.queue.cli without queue_name is on
// queue cli for naq job status too.
func TestCLIJobStatusQueueFromSubject(t *testing.T) {
	e := newOpsEnv(t)
	e.startWorker(t, func(w *worker.Worker) {
		w.HandleFunc("cli:job", func(context.Context, *naq.Job) (any, error) { return 1, nil })
	}, worker.WithQueues("cli"))
	const id = "00000000000000000000000000000c01"
	if err := e.nc.Publish("naq.queue.cli", []byte(`{"job_id":"`+id+`","function":"cli:job"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Wait(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	out := e.ok(t, "job", "status", id)
	if !strings.Contains(out, "queue") || !strings.Contains(out, "cli") || strings.Contains(out, "naq_default_queue") {
		t.Errorf("naq job status:\n%s", out)
	}
}
