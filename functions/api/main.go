// Command api is the API Lambda function: API Gateway HTTP API (payload
// 2.0) events in, the Scaleout HTTP API (package api) behind them.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/lambdamain"
)

// handler is what lambda.Start runs.
type handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// newHandler wires the API from the environment, once per cold start.
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (handler, error) {
	cfg, clients, err := assemble.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	srv, err := assemble.API(ctx, cfg, clients, log)
	if err != nil {
		return nil, err
	}
	return httpadapter.NewV2(srv).ProxyWithContext, nil
}

func main() { lambdamain.Run("api", newHandler) }
