package awsconfig_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/awsconfig"
	"github.com/scaleout/scaleout/scaleouttype"
)

// TestThrottledIsDomainError runs the real DynamoDB client against an
// endpoint that answers as DynamoDB does when it throttles (the stand-ins
// never throttle): the error matches scaleouttype.ErrThrottled and is still
// the SDK's error underneath; another error does not match.
func TestThrottledIsDomainError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      string
		throttled bool
	}{
		{"ThrottlingException", true},
		{"ProvisionedThroughputExceededException", true},
		{"RequestLimitExceeded", true},
		{"ResourceNotFoundException", false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.Header().Set("X-Amzn-ErrorType", tc.code)
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + tc.code + `","message":"refused by the test"}`))
			}))
			t.Cleanup(srv.Close)
			c := awsconfig.New(aws.Config{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(srv.URL),
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
				}),
				RetryMaxAttempts: 1,
			})
			_, err := c.DynamoDB.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("t"),
				Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
			require.Error(t, err)
			require.Equal(t, tc.throttled, errors.Is(err, scaleouttype.ErrThrottled), "%v", err)
			var apiErr smithy.APIError
			require.ErrorAs(t, err, &apiErr, "the SDK's error is still there")
			require.Equal(t, tc.code, apiErr.ErrorCode())
		})
	}
}
