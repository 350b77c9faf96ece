// Command api is the API Lambda function: API Gateway HTTP API (payload
// 2.0) events in, the Scaleout HTTP API (package api) behind them.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scaleout/scaleout/pkg/assemble"
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

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("api function cannot start", "error", err)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
