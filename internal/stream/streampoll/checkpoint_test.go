package streampoll

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func TestDynamoCheckpointsItem(t *testing.T) {
	t.Parallel()
	ddb, _ := clients(t)
	table, _ := createTable(t, ddb, false)
	cp := NewDynamoCheckpoints(ddb, table)
	now := time.Date(2026, 3, 4, 5, 6, 7, 800, time.FixedZone("CET", 3600))
	cp.now = func() time.Time { return now }
	ctx := t.Context()
	const (
		arn = "arn:aws:dynamodb:us-east-1:000000000000:table/executions/stream/2026-01-01T00:00:00.000"
	)

	// What Get and Put do is the conformance suite's (checkpointtest);
	// here, what they store.
	require.NoError(t, cp.Put(ctx, arn, "shard-1", "000000000000000000010"))
	require.NoError(t, cp.Put(ctx, arn, "shard-1", "000000000000000000020"))

	// The item has the documented shape.
	out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), Key: map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: "STREAMPOS#" + arn},
		"sk": &dbtypes.AttributeValueMemberS{Value: "shard-1"},
	}})
	require.NoError(t, err)
	require.Equal(t, map[string]dbtypes.AttributeValue{
		"pk":         &dbtypes.AttributeValueMemberS{Value: "STREAMPOS#" + arn},
		"sk":         &dbtypes.AttributeValueMemberS{Value: "shard-1"},
		"seq":        &dbtypes.AttributeValueMemberS{Value: "000000000000000000020"},
		"updated_at": &dbtypes.AttributeValueMemberS{Value: "2026-03-04T04:06:07.0000008Z"},
	}, out.Item)
}

func TestDynamoCheckpointsErrors(t *testing.T) {
	t.Parallel()
	ddb, _ := clients(t)
	table, _ := createTable(t, ddb, false)
	ctx := t.Context()
	arn := "arn:aws:dynamodb:us-east-1:000000000000:table/executions/stream/2026-01-01T00:00:00.000"

	// An item without seq is reported, not taken for "no checkpoint".
	_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: CheckpointKeyPrefix + arn},
		"sk": &dbtypes.AttributeValueMemberS{Value: "shard-1"},
	}})
	require.NoError(t, err)
	_, _, err = NewDynamoCheckpoints(ddb, table).Get(ctx, arn, "shard-1")
	require.ErrorContains(t, err, "no string attribute seq")

	missing := NewDynamoCheckpoints(ddb, table+"-missing")
	_, _, err = missing.Get(ctx, arn, "shard-1")
	var notFound *dbtypes.ResourceNotFoundException
	require.ErrorAs(t, err, &notFound)
	require.ErrorContains(t, err, table+"-missing")
	err = missing.Put(context.Background(), arn, "shard-1", "000000000000000000001")
	require.ErrorAs(t, err, &notFound)
}
