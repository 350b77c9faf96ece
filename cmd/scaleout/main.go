// Command scaleout is Scaleout's command-line tool. It runs Scaleout on a
// single computer (`scaleout dev`), validates and runs package files
// locally (`scaleout package validate|run`), manages the local stand-ins
// (`scaleout standins up|down`), and talks to the HTTP API, local or
// deployed, through the client package: `deploy`, `run`, `logs`, `executions`,
// `workers`, `dashboard`, `pools`, and the catalog's `folders`, `projects`
// (versions, restore, references, bindings) and `environments`, and
// `console` (the page for a deployed API, through a local proxy), each with
// --endpoint, --token or --aws-sigv4, --output table|json and --timeout.
//
// The API commands have a file each (deploy.go, run.go, logs.go,
// executions.go, workers.go, dashboard.go, folders.go, projects.go,
// environments.go with variables.go, console.go), with their shared flags in
// remote.go and their output in output.go; root.go only adds them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	var exit exitError
	switch {
	case errors.As(err, &exit):
		stop()
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "scaleout:", err)
		stop()
		os.Exit(1)
	}
}
