package execstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// ByStatus returns up to limit executions in status created before
// createdBefore, oldest first, through the by_status index (no scan): it
// queries the resources.StatusShards shards of the executions that are not
// final, keeps those in status, and merges them.
//
// The index is sparse (final executions leave it), so a final status finds
// nothing. It projects only resources.StatusAttributes: the executions
// returned hold those (id, status, pool, times, attempt, worker, session,
// retries, attempts) and no folder, project, package, definition or
// parameters; Get reads the rest. The index is eventually consistent:
// writes based on what it returns must be conditional.
func (s *Store) ByStatus(ctx context.Context, status execution.Status, createdBefore time.Time, limit int) ([]execution.Execution, error) {
	if status.Final() || limit <= 0 {
		return nil, nil
	}
	in := dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(resources.ByStatus),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk < :hi"),
		FilterExpression:         aws.String("#status = :status"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.StatusKey, "#sk": resources.CreatedKey, "#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":hi":     str(msBound(createdBefore.UnixMilli())),
			":status": str(string(status)),
		},
		Limit: aws.Int32(int32(min(1000, 2*(limit+resources.StatusShards-1)/resources.StatusShards+8))),
	}
	m := newMerger(s.db, in, shardKeys(resources.ActiveKey, resources.StatusShards), false)
	var out []execution.Execution
	for len(out) < limit {
		it, ok, err := m.next(ctx, 0)
		if err != nil {
			return out, fmt.Errorf("list %s executions: %w", status, err)
		}
		if !ok {
			break
		}
		e, err := Decode(it)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}
