// Command sales-source is the sales endpoint examples/etl.yaml reads: it
// answers GET /sales?date=YYYY-MM-DD with {"date": "...", "count": N} for
// a request that carries the bearer token it was given, so that the
// example runs on a fresh clone with nothing else to write:
//
//	go run ./examples/sales-source &
//	scaleout package run examples/etl.yaml \
//	  --param date=2026-11-25 --param source_url=http://127.0.0.1:8081/sales --param api_token=s3cret
//	kill %1
//
// It prints the URL it serves once it listens, then one line per request.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "the address to serve on (port 0 picks a free one)")
	token := flag.String("token", "s3cret", "the bearer token a request must carry (the package's api_token)")
	count := flag.Int("count", 42, "the row count answered for any day")
	flag.Parse()
	if err := serve(*listen, *token, *count); err != nil {
		log.Fatal(err)
	}
}

func serve(listen, token string, count int) error {
	if token == "" {
		return errors.New("--token: give the token requests must carry")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sales", func(w http.ResponseWriter, r *http.Request) {
		date := r.URL.Query().Get("date")
		status := http.StatusOK
		var body any = map[string]any{"date": date, "count": count}
		switch got := r.Header.Get("Authorization"); {
		case subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+token)) != 1:
			status, body = http.StatusUnauthorized, map[string]string{"error": "send the header Authorization: Bearer TOKEN, where TOKEN is the --token this source was started with"}
		case !validDate(date):
			status, body = http.StatusBadRequest, map[string]string{"error": "date: write ?date=YYYY-MM-DD"}
		}
		fmt.Printf("%s %s %d\n", r.Method, r.URL.Path, status) // the token is never printed
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("serving the example's sales on http://%s/sales\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
