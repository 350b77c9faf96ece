package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/streampoll"
)

// The stream function's load, as the cost figures model it.
const (
	// streamRate is the steady load the aggregate cost is figured at.
	streamRate = 100 // executions per second
	// lambdaStreamPoll is how often Lambda's event source mapping polls
	// each shard of a DynamoDB stream (4 times a second, per the Lambda
	// documentation): without a batching window a batch holds what
	// arrived since the previous poll.
	lambdaStreamPoll = 250 * time.Millisecond
)

// batching is an event source mapping's batching settings.
type batching struct {
	size   int
	window time.Duration
}

// records is how many records a batch holds at recordsPerSecond: what
// arrives while Lambda gathers (the batching window, or one poll interval
// without one), at most size.
func (b batching) records(recordsPerSecond float64) int {
	gather := max(b.window, lambdaStreamPoll)
	return max(1, min(b.size, int(math.Round(recordsPerSecond*gather.Seconds()))))
}

func (b batching) String() string {
	return fmt.Sprintf("BatchSize %d, MaximumBatchingWindow %s", b.size, b.window)
}

// foldResult is what folding the stream records of the measured executions
// cost at one batching.
type foldResult struct {
	batching batching
	batch    int // records per batch
	batches  int
	usage    awsmeter.Usage
	// handler is the aggregate handler's median time per batch.
	handler    time.Duration
	executions int
}

// aggregateResult is the stream function's share of the no-op executions'
// cost.
type aggregateResult struct {
	executions int
	records    int
	// configured is at the stack's batching; alternatives at others, for
	// comparison.
	configured   foldResult
	alternatives []foldResult
	// lowRate are folds of fewer executions' records at lowRate.
	lowRate []foldResult
}

// lowRate is the light load the aggregate cost is also shown at, for
// lowRateN of the executions.
const (
	lowRate  = 1.0 // executions per second
	lowRateN = 50
)

// aggregateCost runs the stream function's handler (internal/stream/aggregate, as
// functions/stream builds it, without event bus and webhooks) on the
// stream records of the executions ids, in batches as the stack's event
// source mapping would deliver them at streamRate executions a second, with
// a metered client: the catalog's write units are DynamoDB's own figures.
// The bench runs no stream consumer, so these records were never folded.
func (s *system) aggregateCost(ctx context.Context, ids []string) (aggregateResult, error) {
	res := aggregateResult{executions: len(ids)}
	arn, shards, err := s.streamRecords(ctx, ids)
	if err != nil {
		return res, err
	}
	for _, recs := range shards {
		res.records += len(recs)
	}
	if res.records < 3*len(ids) {
		return res, fmt.Errorf("the stream holds %d records of %d executions: fewer than their create, claim and finish", res.records, len(ids))
	}
	perExec := float64(res.records) / float64(len(ids))
	rate := perExec * streamRate
	// The stack's batching first, then others to compare with.
	var compared []batching
	for _, b := range []batching{
		{resources.StreamBatchSize, resources.StreamBatchingWindow},
		{100, 0}, {100, time.Second}, {1000, 2 * time.Second}, {1000, 5 * time.Second},
	} {
		if !slices.Contains(compared, b) {
			compared = append(compared, b)
		}
	}
	for i, b := range compared {
		f, err := s.fold(ctx, arn, shards, b, b.records(rate), fmt.Sprintf("bench-fold-%d-", i))
		if err != nil {
			return res, fmt.Errorf("fold at %s: %w", b, err)
		}
		if i == 0 {
			res.configured = f
		} else {
			res.alternatives = append(res.alternatives, f)
		}
	}
	few := only(shards, ids[:min(lowRateN, len(ids))])
	for i, b := range compared {
		f, err := s.fold(ctx, arn, few, b, b.records(perExec*lowRate), fmt.Sprintf("bench-fold-low-%d-", i))
		if err != nil {
			return res, fmt.Errorf("fold at %s: %w", b, err)
		}
		res.lowRate = append(res.lowRate, f)
	}
	stderrf("# stream aggregates: the aggregate handler (internal/stream/aggregate) run on the %d stream records of the %d throughput executions "+
		"(%.2f a execution), in batches as the event source mapping would make them at a steady %d executions/s = %.0f records/s "+
		"on one shard; assumed: Lambda polls a shard every %s, a batch holds what arrived while it gathers (the batching window, "+
		"or one poll interval without one), at most BatchSize; the handler's calls metered (DynamoDB's own capacity figures); "+
		"no event bus or webhooks (EventBridge priced apart); Lambda's reads of the stream are free\n",
		res.records, len(ids), perExec, streamRate, rate, lambdaStreamPoll)
	stderrf("#   and, for comparison, the records of %d of them as if they came at %.0f execution/s\n", min(lowRateN, len(ids)), lowRate)
	line := func(f foldResult, rate float64) {
		tag := "  "
		if f.batching == res.configured.batching {
			tag = "* "
		}
		u, n := f.usage.Total(), float64(f.executions)
		stderrf("#  %s%.0f executions/s, %-38s %4d records/batch  %4d batches  %.3f invocations/execution  %6.3f WRU/execution  %.3f RRU/execution  %4.1f writes/batch  handler p50 %.1f ms/batch\n",
			tag, rate, f.batching, f.batch, f.batches, float64(f.batches)/n, u.Write/n, u.Read/n,
			float64(f.usage.ItemsWritten())/float64(f.batches), msOf(f.handler))
	}
	for _, f := range append([]foldResult{res.configured}, res.alternatives...) {
		line(f, streamRate)
	}
	for _, f := range res.lowRate {
		line(f, lowRate)
	}
	stderrf("#   (* = the stack's settings, resources.StreamBatchSize and resources.StreamBatchingWindow)\n")
	return res, nil
}

// fold runs the handler on the records, batch records at a time per shard.
func (s *system) fold(ctx context.Context, arn string, shards map[string][]streamtypes.Record, b batching, batch int, scope string) (foldResult, error) {
	f := foldResult{batching: b, batch: batch}
	execs := map[string]bool{}
	for _, recs := range shards {
		for _, r := range recs {
			execs[idOf(r)] = true
		}
	}
	f.executions = len(execs)
	m := awsmeter.New()
	c := awsconfig.New(metered(s.obs.Config, m))
	h := aggregate.Handler{Store: aggregate.NewStore(c.DynamoDB, s.set.Catalog.Name, aggregate.WithScope(scope))}
	var took []time.Duration
	for shard, recs := range shards {
		for chunk := range slices.Chunk(recs, batch) {
			ev := events.DynamoDBTimeWindowEvent{DynamoDBEvent: streampoll.ToEvent(arn, chunk)}
			ev.ShardID, ev.EventSourceARN, ev.State = shard, arn, map[string]string{}
			t0 := time.Now()
			resp, err := h.Handle(ctx, ev)
			took = append(took, time.Since(t0))
			if err != nil {
				return f, err
			}
			if len(resp.BatchItemFailures) > 0 {
				return f, fmt.Errorf("the handler failed the batch from record %s on", resp.BatchItemFailures[0].ItemIdentifier)
			}
			f.batches++
		}
	}
	f.usage = m.Take()
	slices.Sort(took)
	f.handler = pct(took, 50)
	return f, nil
}

// streamRecords reads the executions table's stream from its start and
// returns the records of the executions ids, per shard, in stream order.
func (s *system) streamRecords(ctx context.Context, ids []string) (string, map[string][]streamtypes.Record, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	t, err := s.obs.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.set.Executions.Name)})
	if err != nil {
		return "", nil, err
	}
	arn := aws.ToString(t.Table.LatestStreamArn)
	if arn == "" {
		return "", nil, fmt.Errorf("table %s has no stream", s.set.Executions.Name)
	}
	var shardIDs []string
	var last *string
	for {
		d, err := s.obs.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: last})
		if err != nil {
			return "", nil, err
		}
		for _, sh := range d.StreamDescription.Shards {
			shardIDs = append(shardIDs, aws.ToString(sh.ShardId))
		}
		if last = d.StreamDescription.LastEvaluatedShardId; last == nil {
			break
		}
	}
	out := map[string][]streamtypes.Record{}
	for _, shard := range shardIDs {
		it, err := s.obs.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return "", nil, err
		}
		iter := it.ShardIterator
		for iter != nil {
			got, err := s.obs.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return "", nil, err
			}
			for _, r := range got.Records {
				if want[idOf(r)] {
					out[shard] = append(out[shard], r)
				}
			}
			if len(got.Records) == 0 {
				break // caught up (an open shard always returns a next iterator)
			}
			iter = got.NextShardIterator
		}
	}
	return arn, out, nil
}

// idOf is the execution id of a record of the executions table.
func idOf(r streamtypes.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	if k, ok := r.Dynamodb.Keys[resources.ExecutionKey].(*streamtypes.AttributeValueMemberS); ok {
		return k.Value
	}
	return ""
}

// only keeps the records of the executions ids.
func only(shards map[string][]streamtypes.Record, ids []string) map[string][]streamtypes.Record {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	out := map[string][]streamtypes.Record{}
	for shard, recs := range shards {
		for _, r := range recs {
			if keep[idOf(r)] {
				out[shard] = append(out[shard], r)
			}
		}
	}
	return out
}
