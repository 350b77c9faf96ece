package awsmeter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// setup returns clients metered by a fresh Meter, and the shared test
// resources.
func setup(t *testing.T) (*awsmeter.Meter, *awsconfig.Clients, resources.Set, testenv.Env) {
	t.Helper()
	env := testenv.AWS(t)
	m := awsmeter.New()
	cfg := env.Clients.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, m.APIOption)
	return m, awsconfig.New(cfg), env.Set, env
}

// indexedItem is an executions item that every index of the table holds.
func indexedItem(set resources.Set, id string) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{resources.ExecutionKey: &types.AttributeValueMemberS{Value: id}}
	for _, ix := range set.Executions.Indexes {
		for _, k := range []*resources.Key{&ix.PartitionKey, ix.SortKey} {
			if k == nil {
				continue
			}
			if k.Type == resources.Number {
				item[k.Name] = &types.AttributeValueMemberN{Value: "1"}
			} else {
				item[k.Name] = &types.AttributeValueMemberS{Value: "awsmeter-" + id}
			}
		}
	}
	item["padding"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", 2500)} // 3 write units an item
	return item
}

func TestDynamoDBWriteUnitsPerTableAndIndex(t *testing.T) {
	t.Parallel()
	m, c, set, _ := setup(t)
	ctx := context.Background()
	id := testenv.Name("meter-put")
	in := &dynamodb.PutItemInput{TableName: aws.String(set.Executions.Name), Item: indexedItem(set, id)}
	_, err := c.DynamoDB.PutItem(ctx, in)
	require.NoError(t, err)
	require.Empty(t, in.ReturnConsumedCapacity, "the caller's input must not be changed")

	u := m.Take()
	op := u.ByOperation["DynamoDB.PutItem"]
	require.Zero(t, op.Read)
	table := u.Capacity[awsmeter.Resource{Table: set.Executions.Name}]
	require.Equal(t, 3.0, table.Write, "a 2.5 KB item is 3 write units in the table")
	sum := table.Write
	for _, ix := range set.Executions.Indexes {
		got := u.Capacity[awsmeter.Resource{Table: set.Executions.Name, Index: ix.Name}]
		want := 3.0 // the whole item
		if ix.Projection.Type != resources.ProjectAll {
			want = 1.0 // its keys, or a few small attributes
		}
		require.Equal(t, want, got.Write, "index %s", ix.Name)
		sum += got.Write
	}
	require.Equal(t, sum, op.Write, "the operation's total is the table's and its indexes'")
	require.Equal(t, op, u.Total())
	require.Equal(t, 1, u.ItemsWritten())
	require.Len(t, u.Calls[awsmeter.Call{Op: "DynamoDB.PutItem", Table: set.Executions.Name}], 1)

	require.Zero(t, m.Take().Total(), "Take starts afresh")
}

func TestDynamoDBReadUnits(t *testing.T) {
	t.Parallel()
	m, c, set, _ := setup(t)
	ctx := context.Background()
	id := testenv.Name("meter-get")
	_, err := c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(set.Executions.Name), Item: indexedItem(set, id)})
	require.NoError(t, err)
	m.Take()
	key := map[string]types.AttributeValue{resources.ExecutionKey: &types.AttributeValueMemberS{Value: id}}

	_, err = c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(set.Executions.Name), Key: key, ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	_, err = c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(set.Executions.Name), Key: key})
	require.NoError(t, err)
	_, err = c.DynamoDB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		set.Executions.Name: {Keys: []map[string]types.AttributeValue{key}},
	}})
	require.NoError(t, err)

	u := m.Take()
	// A strongly consistent read of an item up to 4 KB is one unit, an
	// eventually consistent one half a unit.
	require.Equal(t, awsmeter.Units{Read: 1.5}, u.ByOperation["DynamoDB.GetItem"])
	require.Equal(t, 0.5, u.ByOperation["DynamoDB.BatchGetItem"].Read)
	require.Zero(t, u.Total().Write)
	require.Equal(t, 2.0, u.Capacity[awsmeter.Resource{Table: set.Executions.Name}].Read)
}

func TestDynamoDBBatchAndTransactionWrites(t *testing.T) {
	t.Parallel()
	m, c, set, _ := setup(t)
	ctx := context.Background()
	pk := testenv.Name("meter-batch")
	item := func(sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			resources.CatalogPK: &types.AttributeValueMemberS{Value: pk},
			resources.CatalogSK: &types.AttributeValueMemberS{Value: sk},
		}
	}
	_, err := c.DynamoDB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		set.Catalog.Name: {{PutRequest: &types.PutRequest{Item: item("a")}}, {PutRequest: &types.PutRequest{Item: item("b")}}},
	}})
	require.NoError(t, err)
	_, err = c.DynamoDB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(set.Catalog.Name), Item: item("c")}},
	}})
	require.NoError(t, err)

	u := m.Take()
	require.Equal(t, awsmeter.Units{Write: 2}, u.ByOperation["DynamoDB.BatchWriteItem"])
	require.Equal(t, awsmeter.Units{Write: 2}, u.ByOperation["DynamoDB.TransactWriteItems"], "a transactional write costs twice")
	require.Equal(t, 4.0, u.Capacity[awsmeter.Resource{Table: set.Catalog.Name}].Write)
	require.Equal(t, 3, u.ItemsWritten())
}

func TestFailedConditionalWriteIsCounted(t *testing.T) {
	t.Parallel()
	m, c, set, _ := setup(t)
	_, err := c.DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:           aws.String(set.Executions.Name),
		Key:                 map[string]types.AttributeValue{resources.ExecutionKey: &types.AttributeValueMemberS{Value: testenv.Name("meter-none")}},
		UpdateExpression:    aws.String("SET x = :x"),
		ConditionExpression: aws.String("attribute_exists(id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":x": &types.AttributeValueMemberN{Value: "1"},
		},
	})
	require.Error(t, err)
	u := m.Take()
	require.Equal(t, 1, u.Failed[awsmeter.Call{Op: "DynamoDB.UpdateItem", Table: set.Executions.Name}])
	require.Zero(t, u.ItemsWritten())
}

func TestSQSRequests(t *testing.T) {
	t.Parallel()
	m, c, set, env := setup(t)
	ctx := context.Background()
	url := aws.String(env.Created.QueueURLs["api"])
	require.NotEmpty(t, *url, "queue of pool api in %v", set.Pools)
	// fauxqs takes bodies up to 256 KB: 100 KB is two billed chunks.
	body := strings.Repeat("b", 100*1024)
	_, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(body)})
	require.NoError(t, err)
	_, err = c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url})
	require.NoError(t, err)

	require.Equal(t, 3, m.Peek().SQSRequests(), "Peek does not start afresh")
	u := m.Take()
	require.Equal(t, 2, u.SQS["SQS.SendMessage"])
	require.Equal(t, 1, u.SQS["SQS.GetQueueAttributes"])
	require.Equal(t, 3, u.SQSRequests())
	require.Equal(t, 2, u.CallCount())
	require.Equal(t, 1, u.CallCount("SQS.GetQueue"))
}
