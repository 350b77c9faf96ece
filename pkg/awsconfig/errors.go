package awsconfig

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Throttled reports whether err is AWS refusing a request because it is
// busy: a throttling error code (ThrottlingException, Provisioned-
// ThroughputExceededException, ...) or DynamoDB's RequestLimitExceeded.
func Throttled(err error) bool {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		return true
	}
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "RequestLimitExceeded"
}

// throttledError is an AWS error that matches scaleouttype.ErrThrottled
// (errors.Is) and still unwraps to the SDK's error.
type throttledError struct{ err error }

func (e *throttledError) Error() string        { return e.err.Error() }
func (e *throttledError) Unwrap() error        { return e.err }
func (e *throttledError) Is(target error) bool { return target == scaleouttype.ErrThrottled }

// domainErrors is an SDK middleware, outermost (so it sees what is left
// once the SDK's own retries gave up), that makes a throttling error match
// scaleouttype.ErrThrottled: every adapter built from these clients then
// carries the domain error, and callers need not know AWS's codes.
func domainErrors(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ScaleoutDomainErrors",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil && Throttled(err) {
				err = &throttledError{err}
			}
			return out, md, err
		}), middleware.Before)
}
