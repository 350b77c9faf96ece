package aggregate_test

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/stream/aggregate"
)

// PartitionWrites counts what one batch writes to each partition key: the
// input of a capacity model. Here a batch of two records: worker w1 takes
// an execution of finance/daily/load, and another one, on w2, succeeds.
func ExamplePartitionWrites() {
	at := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	image := func(id, worker, status string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(id), "folder": events.NewStringAttribute("finance"),
			"project": events.NewStringAttribute("daily"), "package": events.NewStringAttribute("load"),
			"pool": events.NewStringAttribute("default"), "worker_id": events.NewStringAttribute(worker),
			"status":     events.NewStringAttribute(status),
			"started_at": events.NewNumberAttribute(fmt.Sprint(at.Add(-time.Minute).UnixMilli())),
			"ended_at":   events.NewNumberAttribute(fmt.Sprint(at.UnixMilli())),
		}
	}
	modify := func(seq string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventID: seq, EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
			SequenceNumber: seq, ApproximateCreationDateTime: events.SecondsEpochTime{Time: at}, OldImage: old, NewImage: new,
		}}
	}
	batch := []events.DynamoDBEventRecord{
		modify("100", image("e1", "w1", "pending"), image("e1", "w1", "running")),
		modify("101", image("e2", "w2", "running"), image("e2", "w2", "succeeded")),
	}
	updates, err := aggregate.Plan("", "shardId-000001", batch, aggregate.DefaultRetention)
	if err != nil {
		panic(err)
	}
	writes := aggregate.PartitionWrites(updates)
	for _, pk := range slices.Sorted(maps.Keys(writes)) {
		fmt.Println(pk, writes[pk])
	}
	// Output:
	// DAY#2026-03-01#24 1
	// HOUR#2026-03-01T10#24 1
	// STATS 1
	// STATS#POOL#default 1
	// STATS#WORKER#w1 1
	// STATS#WORKER#w2 1
	// STATS#finance 1
	// STATS#finance/daily 1
	// STATS#finance/daily/load 1
}
