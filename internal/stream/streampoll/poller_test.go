package streampoll

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"
)

func str(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }

func TestPollerDeliversWritesInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recorder{}
	run(t, b.poller(t, rec.handle, b.config()))

	b.put(t, "EXEC#1", "META", map[string]dbtypes.AttributeValue{"status": str("PENDING")})
	b.put(t, "EXEC#1", "META", map[string]dbtypes.AttributeValue{"status": str("RUNNING"), "attempt": &dbtypes.AttributeValueMemberN{Value: "2"}})
	b.delete(t, "EXEC#1", "META")

	got := rec.waitRecords(t, 3)
	require.Len(t, got, 3)
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("EXEC#1"), "sk": events.NewStringAttribute("META")}
	pending := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"], "status": events.NewStringAttribute("PENDING")}
	running := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"], "status": events.NewStringAttribute("RUNNING"), "attempt": events.NewNumberAttribute("2")}
	want := []struct {
		name     string
		old, new map[string]events.DynamoDBAttributeValue
	}{
		{"INSERT", nil, pending},
		{"MODIFY", pending, running},
		{"REMOVE", running, nil},
	}
	for i, w := range want {
		r := got[i]
		require.Equal(t, w.name, r.EventName, "record %d", i)
		require.Equal(t, keys, r.Change.Keys, "record %d", i)
		require.Equal(t, w.old, r.Change.OldImage, "record %d OldImage", i)
		require.Equal(t, w.new, r.Change.NewImage, "record %d NewImage", i)
		require.Equal(t, "aws:dynamodb", r.EventSource)
		require.Equal(t, "1.1", r.EventVersion)
		require.Equal(t, b.streamARN, r.EventSourceArn)
		require.NotEmpty(t, r.EventID)
		require.NotEmpty(t, r.AWSRegion)
		require.Equal(t, "NEW_AND_OLD_IMAGES", r.Change.StreamViewType)
		require.Positive(t, r.Change.SizeBytes)
		require.False(t, r.Change.ApproximateCreationDateTime.IsZero())
		if i > 0 {
			require.True(t, seqLess(t, got[i-1].Change.SequenceNumber, r.Change.SequenceNumber), "sequence numbers out of order: %v", seqs(got))
		}
	}
	b.waitCheckpoint(t, got[2].Change.SequenceNumber)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, shard := range rec.shards {
		require.True(t, strings.HasPrefix(shard, "shardId-"), "every batch names its shard, the stream and a state, as Lambda's with a tumbling window: %q", shard)
	}
}

func TestPollerResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)

	first := &recorder{}
	stop := run(t, b.poller(t, first.handle, b.config()))
	for _, sk := range []string{"a1", "a2", "a3"} {
		b.put(t, "EXEC#2", sk, nil)
	}
	handled := first.waitRecords(t, 3)
	b.waitCheckpoint(t, handled[2].Change.SequenceNumber)
	require.NoError(t, stop())
	require.Equal(t, []string{"a1", "a2", "a3"}, sortKeys(first.records()))

	for _, sk := range []string{"b1", "b2"} {
		b.put(t, "EXEC#2", sk, nil)
	}
	second := &recorder{}
	run(t, b.poller(t, second.handle, b.config()))
	got := second.waitRecords(t, 2)
	// Redelivered records would come before the new ones.
	require.Equal(t, []string{"b1", "b2"}, sortKeys(got))
	b.waitCheckpoint(t, got[1].Change.SequenceNumber)
	require.Equal(t, []string{"b1", "b2"}, sortKeys(second.records()))
}

func TestPollerBatchItemFailureRetriesFromFailedRecord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, sk := range []string{"r1", "r2", "r3", "r4", "r5"} {
		b.put(t, "EXEC#3", sk, nil)
	}
	var checkpointAtRetry atomic.Value
	rec := &recorder{}
	rec.respond = func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		switch call {
		case 1:
			return events.DynamoDBTimeWindowEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
				{ItemIdentifier: ev.Records[3].Change.SequenceNumber},
				{ItemIdentifier: ev.Records[2].Change.SequenceNumber},
			}}, nil
		case 2:
			seqs, err := b.checkpointsE(context.Background())
			if err != nil {
				return events.DynamoDBTimeWindowEventResponse{}, err
			}
			checkpointAtRetry.Store(strings.Join(seqs, ","))
		}
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	cfg := b.config()
	cfg.BatchSize = 10
	run(t, b.poller(t, rec.handle, cfg))

	all := rec.waitRecords(t, 8)
	b.waitCheckpoint(t, all[4].Change.SequenceNumber)
	require.Equal(t, [][]string{{"r1", "r2", "r3", "r4", "r5"}, {"r3", "r4", "r5"}}, batchSortKeys(rec.snapshot()))
	require.Equal(t, all[1].Change.SequenceNumber, checkpointAtRetry.Load(), "checkpoint when the tail was retried")
	require.Equal(t, seqs(all[2:5]), seqs(all[5:8]), "the retried records are the same records")
}

func TestPollerHandlerErrorRetriesBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, "EXEC#4", "r1", nil)
	b.put(t, "EXEC#4", "r2", nil)
	rec := &recorder{}
	rec.respond = func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		if call == 1 {
			return events.DynamoDBTimeWindowEventResponse{}, errors.New("database is down")
		}
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	cfg := b.config()
	cfg.BatchSize = 10
	run(t, b.poller(t, rec.handle, cfg))

	all := rec.waitRecords(t, 4)
	b.waitCheckpoint(t, all[1].Change.SequenceNumber)
	require.Equal(t, [][]string{{"r1", "r2"}, {"r1", "r2"}}, batchSortKeys(rec.snapshot()))
	retries := b.logs.find("streampoll: handler failed; retrying")
	require.Len(t, retries, 1)
	require.Equal(t, "1", retries[0].attrs["attempt"])
	require.Equal(t, "database is down", retries[0].attrs["error"])
}

func TestPollerHandlerPanicIsAFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, "EXEC#5", "r1", nil)
	rec := &recorder{}
	rec.respond = func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		if call == 1 {
			panic("boom")
		}
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	run(t, b.poller(t, rec.handle, b.config()))

	all := rec.waitRecords(t, 2)
	b.waitCheckpoint(t, all[0].Change.SequenceNumber)
	require.Equal(t, [][]string{{"r1"}, {"r1"}}, batchSortKeys(rec.snapshot()))
	retries := b.logs.find("streampoll: handler failed; retrying")
	require.Len(t, retries, 1)
	require.Contains(t, retries[0].attrs["error"], "handler panicked: boom")
}

func TestPollerSkipsRecordsAfterMaxRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		batchSize int32
		writes    []string
		// fail answers a batch: an error, or failures naming the record "poison".
		fail        func(ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)
		wantBatches [][]string
		wantSkipped []string
	}{
		{
			name:      "handler error",
			batchSize: 1,
			writes:    []string{"poison", "good"},
			fail: func(ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
				return events.DynamoDBTimeWindowEventResponse{}, errors.New("cannot handle poison")
			},
			wantBatches: [][]string{{"poison"}, {"poison"}, {"poison"}, {"good"}},
			wantSkipped: []string{"poison"},
		},
		{
			name:      "batch item failure",
			batchSize: 10,
			writes:    []string{"good1", "poison", "good2"},
			fail: func(ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
				for _, r := range ev.Records {
					if r.Change.Keys["sk"].String() == "poison" {
						return events.DynamoDBTimeWindowEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
					}
				}
				return events.DynamoDBTimeWindowEventResponse{}, errors.New("no poison in batch")
			},
			// The whole remaining batch is retried and, in the end, skipped, as with Lambda.
			wantBatches: [][]string{{"good1", "poison", "good2"}, {"poison", "good2"}, {"poison", "good2"}},
			wantSkipped: []string{"poison", "good2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, sk := range tt.writes {
				b.put(t, "EXEC#6", sk, nil)
			}
			rec := &recorder{}
			rec.respond = func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
				for _, r := range ev.Records {
					if r.Change.Keys["sk"].String() == "poison" {
						return tt.fail(ev)
					}
				}
				return events.DynamoDBTimeWindowEventResponse{}, nil
			}
			cfg := b.config()
			cfg.BatchSize = tt.batchSize
			cfg.MaxRetries = 2
			run(t, b.poller(t, rec.handle, cfg))

			var wantRecords int
			for _, batch := range tt.wantBatches {
				wantRecords += len(batch)
			}
			all := rec.waitRecords(t, wantRecords)
			bySK := map[string]string{}
			for _, r := range all {
				bySK[r.Change.Keys["sk"].String()] = r.Change.SequenceNumber
			}
			b.waitCheckpoint(t, bySK[tt.writes[len(tt.writes)-1]])
			require.Equal(t, tt.wantBatches, batchSortKeys(rec.snapshot()))

			skipped := b.logs.find("streampoll: retries exhausted; skipping record")
			require.Len(t, skipped, len(tt.wantSkipped))
			for i, sk := range tt.wantSkipped {
				e := skipped[i]
				require.Equal(t, "ERROR", e.level.String())
				require.Equal(t, bySK[sk], e.attrs["sequence_number"])
				require.Equal(t, "pk=EXEC#6 sk="+sk, e.attrs["keys"])
				require.Equal(t, "3", e.attrs["attempts"])
				require.NotEmpty(t, e.attrs["error"])
				require.NotEmpty(t, e.attrs["shard_id"])
			}

			// The poller has moved on.
			b.put(t, "EXEC#6", "later", nil)
			all = rec.waitRecords(t, wantRecords+1)
			require.Equal(t, []string{"later"}, sortKeys(all[wantRecords:]))
			b.waitCheckpoint(t, all[wantRecords].Change.SequenceNumber)
		})
	}
}

// Progress through a batch starts the count of retries again for the record that now fails, as the
// remaining records are a new batch.
func TestPollerProgressResetsRetryCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, sk := range []string{"r1", "r2", "r3"} {
		b.put(t, "EXEC#9", sk, nil)
	}
	rec := &recorder{}
	rec.respond = func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		if call == 1 {
			return events.DynamoDBTimeWindowEventResponse{}, errors.New("first attempt fails")
		}
		for _, r := range ev.Records {
			if r.Change.Keys["sk"].String() == "r2" {
				return events.DynamoDBTimeWindowEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
			}
		}
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	cfg := b.config()
	cfg.BatchSize = 10
	cfg.MaxRetries = 1
	run(t, b.poller(t, rec.handle, cfg))

	all := rec.waitRecords(t, 8)
	b.waitCheckpoint(t, all[2].Change.SequenceNumber)
	require.Equal(t, [][]string{{"r1", "r2", "r3"}, {"r1", "r2", "r3"}, {"r2", "r3"}}, batchSortKeys(rec.snapshot()))
	skipped := b.logs.find("streampoll: retries exhausted; skipping record")
	require.Len(t, skipped, 2)
	require.Equal(t, "2", skipped[0].attrs["attempts"])
}

func TestPollerRenewsExpiredIterator(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// DynamoDB Local's iterators are "<stream ARN>|001|base64(<shard>|<sequence number>|<millis>)" and
	// expire 15 minutes after <millis>: an older <millis> makes one that has expired.
	out, err := b.streams.DescribeStream(t.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(b.streamARN)})
	require.NoError(t, err)
	it, err := b.streams.GetShardIterator(t.Context(), &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(b.streamARN), ShardId: out.StreamDescription.Shards[0].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	require.NoError(t, err)
	if _, err := expire(*it.ShardIterator); err != nil {
		t.Skipf("cannot make an expired iterator on this DynamoDB: %v", err)
	}

	var expireNext, expired atomic.Bool
	rec := &recorder{}
	p := b.poller(t, rec.handle, b.config())
	p.iteratorHook = func(iter string) string {
		if !expireNext.CompareAndSwap(true, false) {
			return iter
		}
		old, err := expire(iter)
		if err != nil {
			return iter
		}
		expired.Store(true)
		return old
	}
	run(t, p)

	b.put(t, "EXEC#7", "r1", nil)
	first := rec.waitRecords(t, 1)
	b.waitCheckpoint(t, first[0].Change.SequenceNumber)
	expireNext.Store(true)
	require.Eventually(t, expired.Load, waitFor, 5*time.Millisecond)
	b.put(t, "EXEC#7", "r2", nil)
	all := rec.waitRecords(t, 2)
	b.waitCheckpoint(t, all[1].Change.SequenceNumber)
	require.Equal(t, [][]string{{"r1"}, {"r2"}}, batchSortKeys(rec.snapshot()))
	require.Len(t, b.logs.find("streampoll: shard iterator expired; getting a new one after the checkpoint"), 1)
}

// expire rewrites a DynamoDB Local shard iterator to one issued 16 minutes ago.
func expire(iter string) (string, error) {
	parts := strings.Split(iter, "|")
	if len(parts) != 3 {
		return "", fmt.Errorf("iterator %q does not have 3 |-separated parts", iter)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return "", fmt.Errorf("iterator %q: %w", iter, err)
	}
	fields := strings.Split(string(raw), "|")
	if len(fields) != 3 || len(fields[2]) < 13 {
		return "", fmt.Errorf("iterator payload %q is not <shard>|<sequence number>|<millis>", raw)
	}
	fields[2] = fmt.Sprintf("%0*d", len(fields[2]), time.Now().Add(-16*time.Minute).UnixMilli())
	parts[2] = base64.StdEncoding.EncodeToString([]byte(strings.Join(fields, "|")))
	return strings.Join(parts, "|"), nil
}

func TestPollerRunReturnsNilOnCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := &recorder{}
	p := b.poller(t, rec.handle, b.config())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	b.put(t, "EXEC#8", "r1", nil)
	rec.waitRecords(t, 1)
	require.Error(t, p.Run(ctx), "a second Run while the first runs")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Run did not return after its context was canceled")
	}
}

func TestPollerUnknownStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg := b.config()
	cfg.StreamARN = b.streamARN + "-missing"
	p := b.poller(t, (&recorder{}).handle, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	err := p.Run(ctx)
	_, notFound := errors.AsType[*types.ResourceNotFoundException](err)
	require.True(t, notFound, "Run returned %v", err)
	require.ErrorContains(t, err, "LatestStreamArn")
}
