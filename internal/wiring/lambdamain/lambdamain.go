// Package lambdamain is the shared main of Scaleout's Lambda functions:
// build the handler once per cold start from the environment, report a
// configuration problem clearly and exit, else hand the handler to the
// Lambda runtime.
package lambdamain

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Builder makes a function's handler from the environment.
type Builder[H any] func(ctx context.Context, getenv func(string) string, log *slog.Logger) (H, error)

// Run builds the handler with Lambda's JSON logger and starts it; it does
// not return. name says which function could not start.
func Run[H any](name string, build Builder[H]) {
	log := lambdacontext.NewLogger()
	h, err := build(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error(name+" function cannot start", "error", err)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
