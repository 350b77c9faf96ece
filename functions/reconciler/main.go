// Command reconciler is the reconciler Lambda function: an EventBridge
// schedule invokes it (every minute or so) and each invocation runs one
// reconcile pass (package reconcile), which enqueues again the executions
// whose message was lost and recovers the attempts whose worker was lost.
package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/lambdamain"
)

type handler func(context.Context, events.EventBridgeEvent) (reconcile.Report, error)

func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (handler, error) {
	cfg, clients, err := assemble.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	r, err := assemble.Reconciler(ctx, cfg, clients, log)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ events.EventBridgeEvent) (reconcile.Report, error) {
		// A pass that could not fix an execution (or read the table) fails
		// the invocation, so that Lambda's Errors metric counts it and the
		// reconciler-errors alarm sees a fault that stays. It is not
		// retried (the stack turns off the asynchronous retries): the next
		// scheduled pass, a minute later, tries those executions again.
		rep, err := r.Pass(ctx)
		if err != nil {
			log.ErrorContext(ctx, "reconcile pass failed", "error", err, "failed", rep.Failed)
			return rep, fmt.Errorf("reconcile pass: %d executions not fixed: %w", rep.Failed, err)
		}
		return rep, nil
	}, nil
}

func main() { lambdamain.Run("reconciler", newHandler) }
