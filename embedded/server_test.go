package embedded_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/embedded"
)

func start(t *testing.T, dir string, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(dir, opts...)
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	return srv
}

func connect(t *testing.T, srv *embedded.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return nc, js
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	srv := start(t, dir)
	if srv.StoreDir() != dir {
		t.Errorf("StoreDir = %q, want %q", srv.StoreDir(), dir)
	}
	nc, js := connect(t, srv)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "persist", Subjects: []string{"persist.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "persist.one", []byte("still here"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Drain(); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()

	srv = start(t, dir)
	defer srv.Shutdown()
	nc, js = connect(t, srv)
	defer nc.Close()
	s, err := js.Stream(ctx, "persist")
	if err != nil {
		t.Fatalf("stream lost after restart: %v", err)
	}
	msg, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatalf("message lost after restart: %v", err)
	}
	if string(msg.Data) != "still here" || msg.Subject != "persist.one" {
		t.Errorf("message after restart = %s %q", msg.Subject, msg.Data)
	}
}

func TestStartRequiresDirectory(t *testing.T) {
	srv, err := embedded.Start("")
	if err == nil {
		srv.Shutdown()
		t.Fatal("Start(\"\") succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "directory") {
		t.Errorf("error %q does not say a directory is needed", err)
	}
}

func TestNoListenerByDefault(t *testing.T) {
	srv := start(t, t.TempDir())
	defer srv.Shutdown()
	if u := srv.ClientURL(); u != "" {
		t.Errorf("ClientURL = %q without WithListen, want \"\"", u)
	}
	nc, _ := connect(t, srv)
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Errorf("in-process connection: %v", err)
	}
}

func TestListenOnFreePort(t *testing.T) {
	srv := start(t, t.TempDir(), embedded.WithListen("127.0.0.1", -1))
	defer srv.Shutdown()
	u := srv.ClientURL()
	if !strings.HasPrefix(u, "nats://127.0.0.1:") || strings.HasSuffix(u, ":-1") || strings.HasSuffix(u, ":0") {
		t.Fatalf("ClientURL = %q, want nats://127.0.0.1:<port>", u)
	}
	nc, err := nats.Connect(u, nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("TCP connect to %s: %v", u, err)
	}
	defer nc.Close()
	if got := nc.ConnectedUrl(); got != u {
		t.Errorf("connected to %q, want %q", got, u)
	}

	// A round trip over TCP, with JetStream.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "tcp", Subjects: []string{"tcp.*"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "tcp.x", []byte("hi")); err != nil {
		t.Fatalf("publish over TCP: %v", err)
	}
}

func TestTwoServersOnFreePorts(t *testing.T) {
	a := start(t, t.TempDir(), embedded.WithListen("127.0.0.1", -1), embedded.WithName("a"))
	defer a.Shutdown()
	b := start(t, t.TempDir(), embedded.WithListen("127.0.0.1", -1), embedded.WithName("b"))
	defer b.Shutdown()
	if a.ClientURL() == b.ClientURL() {
		t.Errorf("both servers report %s", a.ClientURL())
	}
}

// recordingHandler keeps every record it is given.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
	attrs   []slog.Attr
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

func (h *recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sharedAttrs{h: h, attrs: attrs}
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

// sharedAttrs records into the parent handler with extra attributes.
type sharedAttrs struct {
	h     *recordingHandler
	attrs []slog.Attr
}

func (s *sharedAttrs) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }
func (s *sharedAttrs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(s.attrs...)
	return s.h.Handle(ctx, r)
}
func (s *sharedAttrs) WithAttrs(a []slog.Attr) slog.Handler {
	return &sharedAttrs{h: s.h, attrs: append(append([]slog.Attr(nil), s.attrs...), a...)}
}
func (s *sharedAttrs) WithGroup(string) slog.Handler { return s }

func (h *recordingHandler) snapshot() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

func TestServerLogsReachSlog(t *testing.T) {
	h := &recordingHandler{}
	srv := start(t, t.TempDir(), embedded.WithLogger(slog.New(h)))
	srv.Shutdown()

	recs := h.snapshot()
	if len(recs) == 0 {
		t.Fatal("no server log record reached the slog handler")
	}
	var sawStart, sawComponent bool
	for _, r := range recs {
		if strings.Contains(r.Message, "Starting nats-server") {
			sawStart = true
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "component" && a.Value.String() == "nats-server" {
				sawComponent = true
			}
			return true
		})
		if strings.Contains(r.Message, "%!") {
			t.Errorf("badly formatted log message %q", r.Message)
		}
	}
	if !sawStart {
		msgs := make([]string, 0, len(recs))
		for _, r := range recs {
			msgs = append(msgs, r.Message)
		}
		t.Errorf("no \"Starting nats-server\" record among %q", msgs)
	}
	if !sawComponent {
		t.Error("server records lack component=nats-server")
	}
}

func TestLoggerLevelFilters(t *testing.T) {
	h := &recordingHandler{}
	// A logger that only takes errors sees none of a clean start's notices.
	l := slog.New(levelFilter{Handler: h, min: slog.LevelError})
	srv := start(t, t.TempDir(), embedded.WithLogger(l))
	srv.Shutdown()
	for _, r := range h.snapshot() {
		if r.Level < slog.LevelError {
			t.Errorf("record below the handler's level: %v %q", r.Level, r.Message)
		}
	}
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(_ context.Context, l slog.Level) bool { return l >= f.min }

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{Handler: f.Handler.WithAttrs(a), min: f.min}
}
