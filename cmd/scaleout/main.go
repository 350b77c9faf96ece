// Command scaleout is Scaleout's command-line tool. Today it runs Scaleout
// on a single computer (`scaleout dev`), validates and runs package files
// locally (`scaleout package validate|run`) and manages the local stand-ins
// (`scaleout standins up|down`).
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
