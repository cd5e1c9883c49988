package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/naqgo/naq/embedded"
)

// Every queue is a consumer of one stream: the embedded server takes more
// than nats-server's default of 1,000 consumers per stream.
func TestManyConsumersOnOneStream(t *testing.T) {
	if testing.Short() {
		t.Skip("1,001 consumers: skipped with -short")
	}
	srv, err := embedded.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "many", Subjects: []string{"many.*"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1001 {
		q := fmt.Sprintf("q%04d", i)
		if _, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: q, FilterSubject: "many." + q, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatalf("consumer %d: %v", i+1, err)
		}
	}
}
