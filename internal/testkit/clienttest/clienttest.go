// Package clienttest runs the whole Scaleout stack in the test's process
// (internal/wiring/devstack: the HTTP API on a free 127.0.0.1 port, a worker, the
// stream poller, the reconciler) on the stand-ins, for tests of the client
// and the command that must talk to a real API. The test binary's TestMain
// must be testenv.Main, which starts the stand-ins and points the SDK at
// them.
package clienttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/internal/wiring/devstack"
)

// Stack is a running stack.
type Stack struct {
	// URL is the API's base URL.
	URL string
	// Token is an admin bearer token; ReaderToken a reader's.
	Token, ReaderToken string
	// WorkerID is the stack's worker; it serves pool "default". Pool
	// "idle" has no worker: what is sent there stays pending.
	WorkerID string
	// Logs holds the stack's log, shown when the test fails.
	Logs *testlog.Buffer
}

// Options tune Start.
type Options struct {
	// Prefix names the tables and queues; give each test binary its own,
	// so that two binaries running at once never share a queue.
	Prefix string
}

// Start runs a stack until the test ends; it returns once the API answers
// (the worker registers within a heartbeat or two after). Run it once per test binary (in a top-level test whose subtests
// share it): each stack has a worker and a stream poller of its own.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" && os.Getenv("AWS_ENDPOINT_URL") == "" {
		t.Fatal("clienttest: the SDK points at no stand-in: make testenv.Main the package's TestMain")
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Stack{
		Token:       "admin-" + hex.EncodeToString(key[:8]),
		ReaderToken: "reader-" + hex.EncodeToString(key[8:16]),
		WorkerID:    testenv.Name(o.Prefix + "-worker"),
		Logs:        &testlog.Buffer{},
	}
	env := map[string]string{
		"SCALEOUT_PREFIX":             o.Prefix,
		"SCALEOUT_POOLS":              "default,idle",
		"SCALEOUT_TOKEN":              s.Token,
		"SCALEOUT_TOKENS":             "viewer:reader:" + s.ReaderToken,
		"SCALEOUT_SECRET_KEY":         hex.EncodeToString(key),
		"SCALEOUT_WORKER_ID":          s.WorkerID,
		"SCALEOUT_WORKER_CONCURRENCY": "4",
		"SCALEOUT_MAX_CPU":            "100",
		"SCALEOUT_MIN_MEMORY_MB":      "0",
		"SCALEOUT_POLL_WAIT":          "1s",
		"SCALEOUT_LEASE":              "3s",
		"SCALEOUT_GRACE":              "2s",
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		done <- devstack.Run(ctx, devstack.Options{Addr: "127.0.0.1:0", Config: cfg, Logger: log,
			Ready: func(base string) { ready <- base }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the stack stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("the stack did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("stack log:\n%s", s.Logs.String())
		}
	})
	select {
	case s.URL = <-ready:
	case err := <-done:
		t.Fatalf("the stack did not start: %v\n%s", err, s.Logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the stack was not ready after 2 minutes:\n%s", s.Logs.String())
	}
	return s
}
