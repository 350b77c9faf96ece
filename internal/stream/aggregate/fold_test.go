package aggregate

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

func loadBatch(t *testing.T) events.DynamoDBEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/stream-batch.json")
	require.NoError(t, err)
	var ev events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

func TestFoldFixture(t *testing.T) {
	t.Parallel()
	ev := loadBatch(t)
	deltas, err := Fold(ev.Records)
	require.NoError(t, err)
	// e3 was inserted and removed in the same batch: nothing to write for it.
	require.Len(t, deltas, 1)
	d := deltas[0]
	require.Equal(t, Ref{Folder: "finance", Project: "daily", Package: "load-sales"}, d.Ref)
	require.Equal(t, 0, d.First)
	require.Equal(t, Counts{execution.Succeeded: 1, execution.Failed: 1}, d.Counts)
}

func testImage(pkg, status string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"folder": events.NewStringAttribute("f"), "project": events.NewStringAttribute("p"),
		"package": events.NewStringAttribute(pkg), "status": events.NewStringAttribute(status),
	}
}

func record(name events.DynamoDBOperationType, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventID: "x", EventName: string(name), Change: events.DynamoDBStreamRecord{OldImage: old, NewImage: new}}
}

func TestFold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		records []events.DynamoDBEventRecord
		want    map[string]Counts
		err     string
	}{
		{
			name:    "insert counts the new status",
			records: []events.DynamoDBEventRecord{record("INSERT", nil, testImage("a", "pending"))},
			want:    map[string]Counts{"a": {execution.Pending: 1}},
		},
		{
			name: "modify moves a count",
			records: []events.DynamoDBEventRecord{
				record("MODIFY", testImage("a", "pending"), testImage("a", "running")),
			},
			want: map[string]Counts{"a": {execution.Pending: -1, execution.Running: 1}},
		},
		{
			name: "modify without a status change is skipped",
			records: []events.DynamoDBEventRecord{
				record("MODIFY", testImage("a", "running"), testImage("a", "running")),
			},
			want: map[string]Counts{},
		},
		{
			name:    "remove takes the old status away",
			records: []events.DynamoDBEventRecord{record("REMOVE", testImage("b", "failed"), nil)},
			want:    map[string]Counts{"b": {execution.Failed: -1}},
		},
		{
			name: "packages are kept apart, one delta each",
			records: []events.DynamoDBEventRecord{
				record("INSERT", nil, testImage("a", "pending")),
				record("INSERT", nil, testImage("b", "pending")),
				record("INSERT", nil, testImage("a", "pending")),
			},
			want: map[string]Counts{"a": {execution.Pending: 2}, "b": {execution.Pending: 1}},
		},
		{
			name:    "insert without image is an error",
			records: []events.DynamoDBEventRecord{record("INSERT", nil, nil)},
			err:     "INSERT without a new image",
		},
		{
			name:    "keys-only modify is an error",
			records: []events.DynamoDBEventRecord{record("MODIFY", nil, testImage("a", "running"))},
			err:     "NEW_AND_OLD_IMAGES",
		},
		{
			name:    "unknown event",
			records: []events.DynamoDBEventRecord{record("TRUNCATE", nil, nil)},
			err:     `unknown event name "TRUNCATE"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			deltas, err := Fold(tc.records)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			got := map[string]Counts{}
			for _, d := range deltas {
				got[d.Ref.Package] = d.Counts
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// Counts in JSON hold every status, as the API's Counts schema requires.
func TestCountsJSONHasEveryStatus(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Counts{execution.Failed: 2})
	require.NoError(t, err)
	var got map[string]int64
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got, len(execution.Statuses))
	require.Equal(t, int64(2), got["failed"])
	require.Equal(t, int64(0), got["succeeded"])
}
