package streampoll

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/resources"
)

// Checkpoints store the last sequence number fully handled per shard, so a restarted poller resumes
// where it left off.
type Checkpoints interface {
	// Get returns the checkpoint of a shard; ok is false when the shard has none.
	Get(ctx context.Context, streamARN, shardID string) (seq string, ok bool, err error)
	// Put records that every record of the shard up to and including seq has been handled.
	Put(ctx context.Context, streamARN, shardID, seq string) error
}

// CheckpointKeyPrefix starts the partition key of every checkpoint item written by DynamoCheckpoints.
const CheckpointKeyPrefix = resources.CatalogStreamPositionPrefix

// DynamoCheckpoints stores checkpoints in a DynamoDB table whose key is pk (S) + sk (S): one item per
// shard, pk = "STREAMPOS#" + streamARN, sk = shardID, with attributes seq (S) and updated_at (S,
// RFC 3339 UTC).
//
// The table must not be the one whose stream is polled: every checkpoint would then add a record to
// the stream, and the poller would never run out of work.
type DynamoCheckpoints struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
}

var _ Checkpoints = (*DynamoCheckpoints)(nil)

// NewDynamoCheckpoints returns checkpoints kept in table.
func NewDynamoCheckpoints(client *dynamodb.Client, table string) *DynamoCheckpoints {
	return &DynamoCheckpoints{client: client, table: table, now: time.Now}
}

func (c *DynamoCheckpoints) key(streamARN, shardID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: CheckpointKeyPrefix + streamARN},
		"sk": &types.AttributeValueMemberS{Value: shardID},
	}
}

// Get reads the checkpoint of a shard with a consistent read.
func (c *DynamoCheckpoints) Get(ctx context.Context, streamARN, shardID string) (string, bool, error) {
	out, err := c.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(c.table),
		Key:                  c.key(streamARN, shardID),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("seq"),
	})
	if err != nil {
		return "", false, fmt.Errorf("read checkpoint of shard %s from table %q: %w", shardID, c.table, err)
	}
	if out.Item == nil {
		return "", false, nil
	}
	seq, ok := out.Item["seq"].(*types.AttributeValueMemberS)
	if !ok || seq.Value == "" {
		return "", false, fmt.Errorf("checkpoint of shard %s in table %q has no string attribute seq: delete the item or set seq", shardID, c.table)
	}
	return seq.Value, true, nil
}

// Put writes the checkpoint of a shard, replacing the previous one.
func (c *DynamoCheckpoints) Put(ctx context.Context, streamARN, shardID, seq string) error {
	item := c.key(streamARN, shardID)
	item["seq"] = &types.AttributeValueMemberS{Value: seq}
	item["updated_at"] = &types.AttributeValueMemberS{Value: c.now().UTC().Format(time.RFC3339Nano)}
	if _, err := c.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(c.table), Item: item}); err != nil {
		return fmt.Errorf("write checkpoint %s of shard %s to table %q: %w", seq, shardID, c.table, err)
	}
	return nil
}
