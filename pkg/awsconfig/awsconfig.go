package awsconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Clients are the SDK clients of one process.
type Clients struct {
	Config   aws.Config
	DynamoDB *dynamodb.Client
	Streams  *dynamodbstreams.Client
	SQS      *sqs.Client
	// EventBridge puts the stream function's "Execution Ended" events.
	EventBridge *eventbridge.Client
}

// Load reads the standard AWS configuration and builds the clients.
func Load(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region configured: set AWS_REGION (for example us-east-1)")
	}
	return New(cfg), nil
}

// New builds the clients from a loaded configuration. Their errors, and
// those of every client built from Clients.Config, match the domain's
// errors where one applies (scaleouttype.ErrThrottled).
func New(cfg aws.Config) *Clients {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, domainErrors)
	// DynamoDB Local and LocalStack omit the CRC32 header on error responses;
	// the SDK then logs a checksum warning on every conditional-check failure.
	// Validation stays on against AWS itself.
	customDynamo := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return &Clients{
		Config: cfg,
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.DisableValidateResponseChecksum = customDynamo
		}),
		Streams:     dynamodbstreams.NewFromConfig(cfg),
		SQS:         sqs.NewFromConfig(cfg),
		EventBridge: eventbridge.NewFromConfig(cfg),
	}
}
