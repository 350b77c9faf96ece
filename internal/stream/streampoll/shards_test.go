package streampoll

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"
)

func TestShardSetReadsChildrenAfterParents(t *testing.T) {
	t.Parallel()
	s := newShardSet()
	// A split: root → a, b; a → a1. "orphan" has a parent the stream no longer lists (trimmed).
	s.update([]shardInfo{{id: "root"}, {id: "a", parent: "root"}, {id: "b", parent: "root"}, {id: "a1", parent: "a"}, {id: "orphan", parent: "gone"}})
	require.Equal(t, []string{"root", "orphan"}, s.ready())

	s.start("root")
	s.start("orphan")
	require.Empty(t, s.ready(), "running shards are not started twice")

	s.finish("root")
	require.Equal(t, []string{"a", "b"}, s.ready())
	s.start("a")
	s.start("b")
	s.finish("a")
	require.Equal(t, []string{"a1"}, s.ready())

	// A new shard found by a later describe; root is trimmed and forgotten, but finished a stays.
	s.start("a1")
	s.update([]shardInfo{{id: "a", parent: "root"}, {id: "b", parent: "root"}, {id: "a1", parent: "a"}, {id: "b1", parent: "b"}})
	require.NotContains(t, s.shards, "root")
	require.Contains(t, s.shards, "a")
	require.Contains(t, s.shards, "orphan", "a running shard is kept")
	require.Empty(t, s.ready(), "b1 waits for b")
	s.finish("b")
	require.Equal(t, []string{"b1"}, s.ready())
}

func TestFirstFailure(t *testing.T) {
	t.Parallel()
	recs := make([]types.Record, 4)
	for i := range recs {
		recs[i] = types.Record{Dynamodb: &types.StreamRecord{SequenceNumber: aws.String(string(rune('1' + i)))}}
	}
	fail := func(ids ...string) []events.DynamoDBBatchItemFailure {
		var fs []events.DynamoDBBatchItemFailure
		for _, id := range ids {
			fs = append(fs, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
		}
		return fs
	}
	tests := []struct {
		name    string
		in      []events.DynamoDBBatchItemFailure
		want    int
		wantErr string
	}{
		{"one", fail("3"), 2, "failure of record 3"},
		{"lowest of several", fail("4", "2", "3"), 1, "failure of record 2"},
		{"first record", fail("1"), 0, "failure of record 1"},
		{"unknown identifier fails the batch", fail("3", "9"), 0, `itemIdentifier "9"`},
		{"empty identifier fails the batch", fail(""), 0, `itemIdentifier ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := firstFailure(tt.in, recs)
			require.Equal(t, tt.want, got)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
