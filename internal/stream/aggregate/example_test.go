package aggregate_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/executions/execution"
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

// A Handler on a Memory folds a batch as the stream function does on
// DynamoDB, and the Memory answers the API's reads: here an execution of
// finance/daily/load that ran 90 s, delivered twice and counted once.
func ExampleMemory() {
	now := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	store := aggregate.NewMemory(aggregate.WithClock(func() time.Time { return now }))
	image := func(status string, started, ended time.Duration) map[string]events.DynamoDBAttributeValue {
		im := map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute("e1"), "folder": events.NewStringAttribute("finance"),
			"project": events.NewStringAttribute("daily"), "package": events.NewStringAttribute("load"),
			"pool": events.NewStringAttribute("default"), "status": events.NewStringAttribute(status),
			"created_at": events.NewNumberAttribute(fmt.Sprint(now.Add(-2 * time.Minute).UnixMilli())),
		}
		for attr, ago := range map[string]time.Duration{"started_at": started, "ended_at": ended} {
			if ago > 0 {
				im[attr] = events.NewNumberAttribute(fmt.Sprint(now.Add(-ago).UnixMilli()))
			}
		}
		return im
	}
	pending, running, succeeded := image("pending", 0, 0), image("running", 100*time.Second, 0), image("succeeded", 100*time.Second, 10*time.Second)
	var ev events.DynamoDBTimeWindowEvent
	ev.ShardID = "shardId-000001"
	for i, r := range []events.DynamoDBStreamRecord{{NewImage: pending}, {OldImage: pending, NewImage: running}, {OldImage: running, NewImage: succeeded}} {
		name := "MODIFY"
		if i == 0 {
			name = "INSERT"
		}
		r.SequenceNumber, r.ApproximateCreationDateTime = fmt.Sprint(100+i), events.SecondsEpochTime{Time: now}
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{EventName: name, Change: r})
	}
	h := aggregate.Handler{Store: store}
	for range 2 { // Lambda may deliver a batch again
		if _, err := h.Handle(context.Background(), ev); err != nil {
			panic(err)
		}
	}
	st, err := store.Stats(context.Background(), aggregate.Filter{Folder: "finance", Project: "daily", Package: "load"})
	if err != nil {
		panic(err)
	}
	fmt.Println("succeeded:", st.Counts[execution.Succeeded], "running:", st.Running, "p50:", time.Duration(st.Durations.P50MS)*time.Millisecond)
	d, err := store.Dashboard(context.Background(), now.Add(-time.Hour))
	if err != nil {
		panic(err)
	}
	fmt.Println("ended in the last hour:", d.Counts[execution.Succeeded], "of", d.Packages[0].PackageRef)
	// Output:
	// succeeded: 1 running: 0 p50: 1m30s
	// ended in the last hour: 1 of finance/daily/load
}
