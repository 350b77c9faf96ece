// Command reconciler is the reconciler Lambda function: an EventBridge
// schedule invokes it (every minute or so) and each invocation runs one
// reconcile pass (package reconcile), which enqueues again the executions
// whose message was lost and recovers the attempts whose worker was lost.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/assemble"
	"github.com/scaleout/scaleout/pkg/lambdamain"
	"github.com/scaleout/scaleout/pkg/reconcile"
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
		// Errors on single executions are logged by the pass and retried
		// by the next one; failing the invocation would only retry it all.
		rep, err := r.Pass(ctx)
		if err != nil {
			log.WarnContext(ctx, "reconcile pass had errors", "error", err)
		}
		return rep, nil
	}, nil
}

func main() { lambdamain.Run("reconciler", newHandler) }
