package execstore

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/resources"
	"github.com/scaleout/scaleout/pkg/testenv"
)

// indexUnits gives the write units each index took, by index name.
func indexUnits(c *types.ConsumedCapacity) map[string]float64 {
	out := map[string]float64{}
	if c == nil {
		return out
	}
	for name, ix := range c.GlobalSecondaryIndexes {
		if u := aws.ToFloat64(ix.CapacityUnits) + aws.ToFloat64(ix.WriteCapacityUnits); u > 0 {
			out[name] = u
		}
	}
	return out
}

// The write units an execution costs in each index, read from DynamoDB
// Local's ConsumedCapacity (which AWS bills the same way): a create writes
// each KEYS_ONLY index once, a status change writes none of them and only
// the small by_status entry, and an execution that ends leaves by_status.
func TestIndexWriteUnits(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := New(env.Clients.DynamoDB, env.Set.Executions.Name)
	ctx := context.Background()
	def := make([]byte, 2500) // a package definition of a typical size
	for i := range def {
		def[i] = 'x'
	}
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"),
		Pool: "default", Status: execution.Pending, Definition: []byte(`{"name":"` + string(def) + `"}`),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	put, err := s.put(e)
	require.NoError(t, err)
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames, ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
	})
	require.NoError(t, err)
	created := indexUnits(out.ConsumedCapacity)
	t.Logf("create: table %.1f WCU, indexes %v", aws.ToFloat64(out.ConsumedCapacity.Table.CapacityUnits), created)
	for _, name := range []string{resources.ByPackage, resources.ByFolder, resources.ByDay} {
		require.Equal(t, 1.0, created[name], "a create writes %s once, with its keys only", name)
	}
	require.Equal(t, 1.0, created[resources.ByStatus], "a pending execution enters by_status, without its definition")

	// A claim-like status change, built as Claim builds it.
	now := time.Now()
	values := map[string]types.AttributeValue{
		":pending": str(string(execution.Pending)), ":running": str(string(execution.Running)),
		":worker": str("w1"), ":lease": num(ms(now.Add(time.Minute))), ":now": num(ms(now)), ":one": num(1),
	}
	claimed, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(e.ID),
		ConditionExpression: aws.String("#status = :pending"),
		UpdateExpression: aws.String(withStatusKey("SET #status = :running, worker_id = :worker, lease_until = :lease, "+
			"started_at = :now, attempt = attempt + :one REMOVE not_before", e.ID, execution.Running, values)),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
	})
	require.NoError(t, err)
	units := indexUnits(claimed.ConsumedCapacity)
	t.Logf("claim: table %.1f WCU, indexes %v", aws.ToFloat64(claimed.ConsumedCapacity.Table.CapacityUnits), units)
	for _, name := range []string{resources.ByPackage, resources.ByFolder, resources.ByDay} {
		require.Zero(t, units[name], "a status change leaves %s alone", name)
	}
	require.Equal(t, 2.0, units[resources.ByStatus], "pending#s out, running#s in")

	// Finishing removes it from by_status and touches nothing else.
	values = map[string]types.AttributeValue{":running": str(string(execution.Running)), ":final": str(string(execution.Succeeded))}
	finished, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(e.ID),
		ConditionExpression:       aws.String("#status = :running"),
		UpdateExpression:          aws.String(withStatusKey("SET #status = :final REMOVE lease_until", e.ID, execution.Succeeded, values)),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityIndexes,
		ReturnValues:              types.ReturnValueAllNew,
	})
	require.NoError(t, err)
	units = indexUnits(finished.ConsumedCapacity)
	t.Logf("finish: table %.1f WCU, indexes %v", aws.ToFloat64(finished.ConsumedCapacity.Table.CapacityUnits), units)
	require.Equal(t, map[string]float64{resources.ByStatus: 1.0}, units, "only the by_status entry is deleted")
	require.NotContains(t, finished.Attributes, resources.StatusKey)
}

func TestWithStatusKey(t *testing.T) {
	t.Parallel()
	id := "0190b6c2-0000-7000-8000-000000000000"
	shard := resources.Shard(id, resources.StatusShards)
	for _, tc := range []struct {
		expr string
		st   execution.Status
		want string
	}{
		{"SET a = :a", execution.Running, "SET a = :a, status_key = :status_key"},
		{"SET a = :a REMOVE b", execution.Pending, "SET a = :a, status_key = :status_key REMOVE b"},
		{"SET a = :a", execution.Failed, "SET a = :a REMOVE status_key"},
		{"SET a = :a REMOVE b, c", execution.Succeeded, "SET a = :a REMOVE b, c, status_key"},
	} {
		values := map[string]types.AttributeValue{}
		require.Equal(t, tc.want, withStatusKey(tc.expr, id, tc.st, values))
		if tc.st.Final() {
			require.Empty(t, values)
		} else {
			require.Equal(t, str(resources.ShardKey(string(tc.st), shard)), values[":status_key"])
		}
	}
}
