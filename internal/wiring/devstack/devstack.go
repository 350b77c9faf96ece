package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/stream/sqspoll"
	"github.com/scaleout/scaleout/internal/stream/streampoll"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/localstack/s3standin"
	"github.com/scaleout/scaleout/localstack/standins"
)

// Options configure the single-computer stack.
type Options struct {
	// Addr is where the API listens; default 127.0.0.1:8080.
	Addr   string
	Config config.Config
	Logger *slog.Logger
	// StandIns tune the stand-ins when they are used.
	StandIns standins.Options
	// Ready, if set, is called with the API's base URL once everything runs.
	Ready func(baseURL string)
}

// S3Endpoint is where the s3 tasks of the stack's worker send their
// requests once Run has started: the S3 stand-in it serves, or the one the
// environment names. Empty before.
func S3Endpoint() string { return os.Getenv(envS3Endpoint) }

const envS3Endpoint = "AWS_ENDPOINT_URL_S3"

// serveS3 serves S3 for the worker's s3 tasks, unless the environment
// already points S3 somewhere (AWS_ENDPOINT_URL_S3, or AWS_ENDPOINT_URL for
// LocalStack): an in-process S3 stand-in on the stand-ins' host and S3 port
// (SCALEOUT_S3_PORT, default 9325), or the one `scaleout standins up`
// started there. It sets AWS_ENDPOINT_URL_S3 for the worker's SDK clients;
// 127.0.0.1 being an address, the SDK then names buckets in the path.
// Its buckets and objects are in memory (see localstack/s3standin): close
// ends them.
func serveS3(ctx context.Context, so standins.Options, log *slog.Logger) (closeS3 func() error, err error) {
	closeS3 = func() error { return nil }
	if os.Getenv(envS3Endpoint) != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
		return closeS3, nil
	}
	so, err = so.WithDefaults()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(so.Host, strconv.Itoa(so.S3Port))
	srv, err := s3standin.Start(ctx, s3standin.Options{Addr: addr})
	if err != nil {
		url := "http://" + addr
		if cerr := standins.CheckS3(ctx, url, 5*time.Second); cerr != nil {
			return nil, fmt.Errorf("%w; nothing there answers as S3 either (set %s to a free port)", err, standins.EnvS3Port)
		}
		log.InfoContext(ctx, "reusing the S3 stand-in running there", "s3", url)
		return closeS3, os.Setenv(envS3Endpoint, url)
	}
	log.InfoContext(ctx, "S3 stand-in ready (in memory: its buckets and objects are gone when this stops)", "s3", srv.URL)
	return srv.Close, os.Setenv(envS3Endpoint, srv.URL)
}

// usesExternalEndpoints reports whether the environment already points the
// SDK somewhere (LocalStack, or stand-ins started elsewhere).
func usesExternalEndpoints() bool {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// Run runs the whole stack until ctx ends (the API, a worker, the stream
// poller and a reconcile pass every ReconcileInterval), then stops the worker
// (letting running executions finish for its grace period), the poller,
// the reconciler and the API,
// and the stand-ins that it started itself.
func Run(ctx context.Context, o Options) (err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	// Fail on a taken port before anything is started.
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("API address %s: %w (choose another with --addr)", o.Addr, err)
	}
	defer ln.Close()

	if !usesExternalEndpoints() {
		so := o.StandIns
		so.Logger = log.With("component", "standins")
		stack, err := standins.Start(ctx, so)
		if err != nil {
			return fmt.Errorf("start the local stand-ins: %w", err)
		}
		defer func() {
			if serr := stack.Stop(); serr != nil {
				err = errors.Join(err, fmt.Errorf("stop the stand-ins: %w", serr))
			}
		}()
		stack.Setenv()
		log.Info("stand-ins ready", "dynamodb", stack.DynamoDBEndpoint, "sqs", stack.SQSEndpoint)
	}
	closeS3, err := serveS3(ctx, o.StandIns, log.With("component", "standins"))
	if err != nil {
		return fmt.Errorf("serve S3: %w", err)
	}
	defer func() {
		if serr := closeS3(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the S3 stand-in: %w", serr))
		}
	}()

	clients, err := awsconfig.Load(ctx)
	if err != nil {
		return err
	}
	set := o.Config.Resources()
	res, err := bootstrap.Ensure(ctx, clients.DynamoDB, clients.SQS, set)
	if err != nil {
		return fmt.Errorf("create tables and queues: %w", err)
	}
	log.Info("tables and queues ready", "executions", set.Executions.Name, "catalog", set.Catalog.Name, "queues", res.QueueURLs)

	if o.Config.WebhookQueueURL == "" {
		o.Config.WebhookQueueURL = res.WebhookQueueURL
	}
	srv, err := assemble.API(ctx, o.Config, clients, log.With("component", "api"))
	if err != nil {
		return err
	}
	wrk, err := assemble.Worker(ctx, o.Config, clients, log.With("component", "worker"))
	if err != nil {
		return err
	}
	rec, err := assemble.Reconciler(ctx, o.Config, clients, log.With("component", "reconciler"))
	if err != nil {
		return err
	}
	handler, err := assemble.StreamHandler(ctx, o.Config, clients, log.With("component", "stream"))
	if err != nil {
		return err
	}
	poller, err := streampoll.New(clients.Streams, streampoll.NewDynamoCheckpoints(clients.DynamoDB, set.Catalog.Name),
		handler.Handle, streampoll.Config{StreamARN: res.ExecutionsStreamARN, Filter: streampoll.TransitionsOnly,
			Logger: log.With("component", "stream")})
	if err != nil {
		return err
	}

	// The webhook sender, as the stack's webhooks function runs it: the
	// same handler, fed by a poller of the local webhook queue.
	var hooks *sqspoll.Poller
	if sender, err := assemble.WebhookSender(ctx, o.Config, clients, log.With("component", "webhooks")); err != nil {
		log.Warn("webhooks are off: they wait in the webhook queue until a sender runs (set SCALEOUT_WEBHOOK_SECRET)", "error", err)
	} else if hooks, err = sqspoll.New(clients.SQS, sender.Handle, sqspoll.Config{QueueURL: o.Config.WebhookQueueURL,
		Wait: o.Config.PollWait, Logger: log.With("component", "webhooks")}); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 5)
	// A client that declares a body and never sends it (or sends it a
	// byte at a time) is cut off instead of holding a connection; bodies
	// are at most api.MaxBodyBytes, well within the read timeout.
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute}
	wg.Go(func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("API server: %w", err)
		}
	})
	wg.Go(func() {
		if err := wrk.Run(ctx); err != nil {
			errc <- fmt.Errorf("worker: %w", err)
		}
	})
	wg.Go(func() {
		if err := poller.Run(ctx); err != nil {
			errc <- fmt.Errorf("stream poller: %w", err)
		}
	})
	if hooks != nil {
		wg.Go(func() {
			if err := hooks.Run(ctx); err != nil {
				errc <- fmt.Errorf("webhook sender: %w", err)
			}
		})
	}
	wg.Go(func() {
		if err := rec.Run(ctx, o.Config.ReconcileInterval); err != nil {
			errc <- fmt.Errorf("reconciler: %w", err)
		}
	})
	base := "http://" + ln.Addr().String()
	log.Info("scaleout is running", "api", base, "worker_id", wrk.ID())
	if o.Ready != nil {
		o.Ready(base)
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("stopping after a failure", "error", err)
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	_ = httpSrv.Shutdown(sctx)
	wg.Wait()
	log.Info("stopped")
	return err
}
