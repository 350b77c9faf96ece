package s3standin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Addr is where it listens; default "127.0.0.1:0" (a free port).
	Addr string
	// Now stamps objects' LastModified; nil is the real clock. A test
	// that sets it controls the ages that newer-than filters see (the
	// server's check of the client's clock is then off).
	Now func() time.Time
}

// Server is a running in-process S3.
type Server struct {
	// URL is its endpoint, e.g. "http://127.0.0.1:43127": a connection's
	// endpoint, or AWS_ENDPOINT_URL_S3.
	URL string

	srv      *http.Server
	done     chan struct{}
	serveErr error // set before done closes
	once     sync.Once
	err      error
}

// Start listens on o.Addr and serves S3 until Close.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("s3 stand-in: listen on %s: %w (choose another address)", o.Addr, err)
	}
	var backendOpts []s3mem.Option
	opts := []gofakes3.Option{gofakes3.WithIntegrityCheck(true)}
	if o.Now != nil {
		ts := clock(o.Now)
		backendOpts = append(backendOpts, s3mem.WithTimeSource(ts))
		opts = append(opts, gofakes3.WithTimeSource(ts), gofakes3.WithTimeSkewLimit(0))
	}
	faker := gofakes3.New(s3mem.New(backendOpts...), opts...)
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

// Close stops the server; what it held is gone. Calling it again does
// nothing.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		<-s.done
		s.err = errors.Join(s.serveErr, err)
	})
	return s.err
}

// clock adapts a func to gofakes3's time source.
type clock func() time.Time

func (c clock) Now() time.Time                  { return c() }
func (c clock) Since(t time.Time) time.Duration { return c().Sub(t) }
