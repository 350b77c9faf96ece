// Command worker is the Scale Out Worker service (Fargate or EC2): it
// serves one pool until SIGTERM or SIGINT, then lets running executions
// finish for a grace period (package worker).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/scaleout/scaleout/pkg/assemble"
)

func run(ctx context.Context, log *slog.Logger) error {
	cfg, clients, err := assemble.Load(ctx, os.Getenv)
	if err != nil {
		return err
	}
	w, err := assemble.Worker(ctx, cfg, clients, log)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(assemble.Version())
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
