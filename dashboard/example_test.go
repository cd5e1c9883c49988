package dashboard_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/dashboard"
)

// Mount the dashboard under /naq/ of your own server, behind basic auth.
func ExampleNew() {
	ctx := context.Background()
	nc, err := naq.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	c, err := naq.NewClient(ctx, nc)
	if err != nil {
		log.Fatal(err)
	}
	h, err := dashboard.New(c,
		dashboard.WithPrefix("/naq"),
		dashboard.WithBasicAuth("ops", os.Getenv("DASHBOARD_PASSWORD")))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	mux := http.NewServeMux()
	mux.Handle("/naq/", h)
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
