package streampoll

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"
)

func nopHandler(context.Context, events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	return events.DynamoDBTimeWindowEventResponse{}, nil
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{name: "defaults", cfg: Config{StreamARN: testStreamARN}},
		{name: "retry forever", cfg: Config{StreamARN: testStreamARN, MaxRetries: RetryForever, BatchSize: MaxBatchSize}},
		{name: "no stream", cfg: Config{}, wantErr: []string{"StreamARN is required"}},
		{name: "table ARN", cfg: Config{StreamARN: "arn:aws:dynamodb:us-east-1:1:table/executions"}, wantErr: []string{"is not a DynamoDB stream ARN"}},
		{name: "batch too large", cfg: Config{StreamARN: testStreamARN, BatchSize: MaxBatchSize + 1}, wantErr: []string{"BatchSize 10001 is out of range"}},
		{name: "negative batch", cfg: Config{StreamARN: testStreamARN, BatchSize: -1}, wantErr: []string{"BatchSize -1 is out of range"}},
		{name: "max retries", cfg: Config{StreamARN: testStreamARN, MaxRetries: -2}, wantErr: []string{"MaxRetries -2 is invalid"}},
		{name: "base above the default max", cfg: Config{StreamARN: testStreamARN, RetryBaseDelay: time.Minute}},
		{name: "max delay below explicit base", cfg: Config{StreamARN: testStreamARN, RetryBaseDelay: time.Second, RetryMaxDelay: time.Millisecond}, wantErr: []string{"RetryMaxDelay 1ms is shorter than RetryBaseDelay 1s"}},
		{
			name: "every problem at once",
			cfg: Config{
				BatchSize: -5, MaxRetries: -3, PollInterval: -time.Second, ShardRefreshInterval: -time.Second,
				RetryBaseDelay: -time.Second, RetryMaxDelay: -time.Second,
			},
			wantErr: []string{
				"StreamARN is required", "BatchSize -5", "MaxRetries -3", "PollInterval -1s is negative",
				"ShardRefreshInterval -1s is negative", "RetryBaseDelay -1s is negative", "RetryMaxDelay -1s is negative",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
			require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), len(tt.wantErr))
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := New(nil, nil, nil, Config{BatchSize: -1})
	require.Error(t, err)
	for _, want := range []string{"Streams client is nil", "Checkpoints is nil", "Handler is nil", "StreamARN is required", "BatchSize -1"} {
		require.ErrorContains(t, err, want)
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	streams := dynamodbstreams.NewFromConfig(aws.Config{Region: "us-east-1"})
	p, err := New(streams, NewDynamoCheckpoints(nil, "checkpoints"), nopHandler, Config{StreamARN: testStreamARN})
	require.NoError(t, err)
	require.Equal(t, int32(DefaultBatchSize), p.cfg.BatchSize)
	require.Equal(t, DefaultPollInterval, p.cfg.PollInterval)
	require.Equal(t, DefaultMaxRetries, p.cfg.MaxRetries)
	require.Equal(t, DefaultShardRefreshInterval, p.cfg.ShardRefreshInterval)
	require.Equal(t, DefaultRetryBaseDelay, p.cfg.RetryBaseDelay)
	require.Equal(t, DefaultRetryMaxDelay, p.cfg.RetryMaxDelay)
	require.NotNil(t, p.cfg.Logger)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := &Poller{cfg: Config{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second}}
	var got []time.Duration
	for attempt := 1; attempt <= 6; attempt++ {
		got = append(got, p.backoff(attempt))
	}
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}, got)
}
