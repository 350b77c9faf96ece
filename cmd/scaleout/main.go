// Command scaleout is Scaleout's command-line tool. Today it runs Scaleout
// on a single computer (`scaleout dev`) and manages the local stand-ins
// (`scaleout standins up|down`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "scaleout:", err)
		os.Exit(1)
	}
}
