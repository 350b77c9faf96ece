package streampoll

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"
)

const testStreamARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/executions/stream/2026-01-01T00:00:00.000"

func TestToEventAttributeTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       types.AttributeValue
		want     events.DynamoDBAttributeValue
		wantJSON string
	}{
		{"S", &types.AttributeValueMemberS{Value: "PENDING"}, events.NewStringAttribute("PENDING"), `{"S":"PENDING"}`},
		{"empty S", &types.AttributeValueMemberS{}, events.NewStringAttribute(""), `{"S":""}`},
		{"N", &types.AttributeValueMemberN{Value: "-12.50"}, events.NewNumberAttribute("-12.50"), `{"N":"-12.50"}`},
		{"B", &types.AttributeValueMemberB{Value: []byte{0, 1, 42, 65}}, events.NewBinaryAttribute([]byte{0, 1, 42, 65}), `{"B":"AAEqQQ=="}`},
		{"empty B", &types.AttributeValueMemberB{}, events.NewBinaryAttribute([]byte{}), `{"B":""}`},
		{"BOOL true", &types.AttributeValueMemberBOOL{Value: true}, events.NewBooleanAttribute(true), `{"BOOL":true}`},
		{"BOOL false", &types.AttributeValueMemberBOOL{Value: false}, events.NewBooleanAttribute(false), `{"BOOL":false}`},
		{"NULL", &types.AttributeValueMemberNULL{Value: true}, events.NewNullAttribute(), `{"NULL":true}`},
		{
			"M",
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"Name": &types.AttributeValueMemberS{Value: "Joe"},
				"Age":  &types.AttributeValueMemberN{Value: "35"},
			}},
			events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"Name": events.NewStringAttribute("Joe"),
				"Age":  events.NewNumberAttribute("35"),
			}),
			`{"M":{"Name":{"S":"Joe"},"Age":{"N":"35"}}}`,
		},
		{"empty M", &types.AttributeValueMemberM{}, events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{}), `{"M":{}}`},
		{
			"L",
			&types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberS{Value: "Cookies"},
				&types.AttributeValueMemberN{Value: "3.14159"},
				&types.AttributeValueMemberNULL{Value: true},
			}},
			events.NewListAttribute([]events.DynamoDBAttributeValue{
				events.NewStringAttribute("Cookies"),
				events.NewNumberAttribute("3.14159"),
				events.NewNullAttribute(),
			}),
			`{"L":[{"S":"Cookies"},{"N":"3.14159"},{"NULL":true}]}`,
		},
		{"empty L", &types.AttributeValueMemberL{}, events.NewListAttribute([]events.DynamoDBAttributeValue{}), `{"L":[]}`},
		{"SS", &types.AttributeValueMemberSS{Value: []string{"Giraffe", "Zebra"}}, events.NewStringSetAttribute([]string{"Giraffe", "Zebra"}), `{"SS":["Giraffe","Zebra"]}`},
		{"empty SS", &types.AttributeValueMemberSS{}, events.NewStringSetAttribute([]string{}), `{"SS":[]}`},
		{"NS", &types.AttributeValueMemberNS{Value: []string{"1234", "567.8"}}, events.NewNumberSetAttribute([]string{"1234", "567.8"}), `{"NS":["1234","567.8"]}`},
		{
			"BS",
			&types.AttributeValueMemberBS{Value: [][]byte{{0, 1, 42, 65}, {65, 42, 1, 0}}},
			events.NewBinarySetAttribute([][]byte{{0, 1, 42, 65}, {65, 42, 1, 0}}),
			`{"BS":["AAEqQQ==","QSoBAA=="]}`,
		},
		{
			"nested M in L in M",
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"tasks": &types.AttributeValueMemberL{Value: []types.AttributeValue{
					&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
						"id":   &types.AttributeValueMemberS{Value: "copy"},
						"deps": &types.AttributeValueMemberSS{Value: []string{"load"}},
						"done": &types.AttributeValueMemberBOOL{Value: true},
						"blob": &types.AttributeValueMemberBS{Value: [][]byte{{1}}},
						"ns":   &types.AttributeValueMemberNS{Value: []string{"1"}},
					}},
				}},
			}},
			events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"tasks": events.NewListAttribute([]events.DynamoDBAttributeValue{
					events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
						"id":   events.NewStringAttribute("copy"),
						"deps": events.NewStringSetAttribute([]string{"load"}),
						"done": events.NewBooleanAttribute(true),
						"blob": events.NewBinarySetAttribute([][]byte{{1}}),
						"ns":   events.NewNumberSetAttribute([]string{"1"}),
					}),
				}),
			}),
			`{"M":{"tasks":{"L":[{"M":{"id":{"S":"copy"},"deps":{"SS":["load"]},"done":{"BOOL":true},"blob":{"BS":["AQ=="]},"ns":{"NS":["1"]}}}]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := types.Record{Dynamodb: &types.StreamRecord{
				SequenceNumber: aws.String("100"),
				NewImage:       map[string]types.AttributeValue{"a": tt.in},
			}}
			ev, dropped := toEvent(testStreamARN, []types.Record{rec})
			require.Empty(t, dropped)
			got, ok := ev.Records[0].Change.NewImage["a"]
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			b, err := json.Marshal(got)
			require.NoError(t, err)
			require.JSONEq(t, tt.wantJSON, string(b))
		})
	}
}

func TestToEventDropsUnknownAttributeTypes(t *testing.T) {
	t.Parallel()
	rec := types.Record{Dynamodb: &types.StreamRecord{
		SequenceNumber: aws.String("7"),
		NewImage: map[string]types.AttributeValue{
			"ok":  &types.AttributeValueMemberS{Value: "x"},
			"new": &types.UnknownUnionMember{Tag: "VEC"},
			"l":   &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.UnknownUnionMember{Tag: "VEC"}, &types.AttributeValueMemberN{Value: "1"}}},
		},
	}}
	ev, dropped := toEvent(testStreamARN, []types.Record{rec})
	img := ev.Records[0].Change.NewImage
	require.Equal(t, events.NewStringAttribute("x"), img["ok"])
	require.NotContains(t, img, "new")
	require.Equal(t, events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewNumberAttribute("1")}), img["l"])
	require.ElementsMatch(t, []string{
		`7 NewImage.new: unknown attribute type "VEC"`,
		`7 NewImage.l[0]: unknown attribute type "VEC"`,
	}, dropped)
}

func TestToEventRecordFields(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "EXEC#1"},
		"sk": &types.AttributeValueMemberS{Value: "META"},
	}
	tests := []struct {
		name string
		in   types.Record
		want events.DynamoDBEventRecord
	}{
		{
			name: "remove by TTL, every field set",
			in: types.Record{
				AwsRegion:    aws.String("us-east-1"),
				EventID:      aws.String("e1"),
				EventName:    types.OperationTypeRemove,
				EventSource:  aws.String("aws:dynamodb"),
				EventVersion: aws.String("1.1"),
				UserIdentity: &types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")},
				Dynamodb: &types.StreamRecord{
					ApproximateCreationDateTime: &created,
					Keys:                        keys,
					OldImage:                    keys,
					SequenceNumber:              aws.String("300"),
					SizeBytes:                   aws.Int64(26),
					StreamViewType:              types.StreamViewTypeNewAndOldImages,
				},
			},
			want: events.DynamoDBEventRecord{
				AWSRegion:      "us-east-1",
				EventID:        "e1",
				EventName:      "REMOVE",
				EventSource:    "aws:dynamodb",
				EventVersion:   "1.1",
				EventSourceArn: testStreamARN,
				UserIdentity:   &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"},
				Change: events.DynamoDBStreamRecord{
					ApproximateCreationDateTime: events.SecondsEpochTime{Time: created},
					Keys: map[string]events.DynamoDBAttributeValue{
						"pk": events.NewStringAttribute("EXEC#1"),
						"sk": events.NewStringAttribute("META"),
					},
					OldImage: map[string]events.DynamoDBAttributeValue{
						"pk": events.NewStringAttribute("EXEC#1"),
						"sk": events.NewStringAttribute("META"),
					},
					SequenceNumber: "300",
					SizeBytes:      26,
					StreamViewType: "NEW_AND_OLD_IMAGES",
				},
			},
		},
		{
			name: "defaults from Lambda and the stream ARN",
			in: types.Record{
				EventID:   aws.String("e2"),
				EventName: types.OperationTypeInsert,
				Dynamodb:  &types.StreamRecord{Keys: keys, SequenceNumber: aws.String("400"), StreamViewType: types.StreamViewTypeKeysOnly},
			},
			want: events.DynamoDBEventRecord{
				AWSRegion:      "eu-west-1",
				EventID:        "e2",
				EventName:      "INSERT",
				EventSource:    "aws:dynamodb",
				EventVersion:   "1.1",
				EventSourceArn: testStreamARN,
				Change: events.DynamoDBStreamRecord{
					Keys: map[string]events.DynamoDBAttributeValue{
						"pk": events.NewStringAttribute("EXEC#1"),
						"sk": events.NewStringAttribute("META"),
					},
					SequenceNumber: "400",
					StreamViewType: "KEYS_ONLY",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := ToEvent(testStreamARN, []types.Record{tt.in})
			require.Len(t, ev.Records, 1)
			require.Equal(t, tt.want, ev.Records[0])
		})
	}
}

func TestToEventEmpty(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(ToEvent(testStreamARN, nil))
	require.NoError(t, err)
	require.JSONEq(t, `{"Records":[]}`, string(b))
}

// TestToEventMatchesLambdaFixture converts records holding the data of aws-lambda-go's own DynamoDB
// event fixture (testdata/dynamodb-event.json, copied from aws-lambda-go v1.55.1
// events/testdata/dynamodb-event.json, Apache-2.0) and requires the same JSON.
func TestToEventMatchesLambdaFixture(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("testdata/dynamodb-event.json")
	require.NoError(t, err)

	b64 := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	created := time.Unix(1480642020, 0)
	keys := map[string]types.AttributeValue{"val": s("data"), "key": s("binary")}
	record := func(id string, user *types.Identity, img map[string]types.AttributeValue) types.Record {
		return types.Record{
			AwsRegion:    aws.String("us-east-1"),
			EventID:      aws.String(id),
			EventName:    types.OperationTypeInsert,
			EventSource:  aws.String("aws:dynamodb"),
			EventVersion: aws.String("1.1"),
			UserIdentity: user,
			Dynamodb: &types.StreamRecord{
				ApproximateCreationDateTime: &created,
				Keys:                        keys,
				NewImage:                    img,
				SequenceNumber:              aws.String("1405400000000002063282832"),
				SizeBytes:                   aws.Int64(54),
				StreamViewType:              types.StreamViewTypeNewAndOldImages,
			},
		}
	}
	recs := []types.Record{
		record("f07f8ca4b0b26cb9c4e5e77e69f274ee",
			&types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")},
			map[string]types.AttributeValue{
				"val":   s("data"),
				"asdf1": &types.AttributeValueMemberB{Value: b64("AAEqQQ==")},
				"asdf2": &types.AttributeValueMemberBS{Value: [][]byte{b64("AAEqQQ=="), b64("QSoBAA==")}},
				"key":   s("binary"),
			}),
		record("f07f8ca4b0b26cb9c4e5e77e42f274ee", nil, map[string]types.AttributeValue{
			"val":       s("data"),
			"asdf1":     &types.AttributeValueMemberB{Value: b64("AAEqQQ==")},
			"b2":        &types.AttributeValueMemberB{Value: b64("test")},
			"asdf2":     &types.AttributeValueMemberBS{Value: [][]byte{b64("AAEqQQ=="), b64("QSoBAA=="), b64("AAEqQQ==")}},
			"key":       s("binary"),
			"Binary":    &types.AttributeValueMemberB{Value: b64("AAEqQQ==")},
			"Boolean":   &types.AttributeValueMemberBOOL{Value: true},
			"BinarySet": &types.AttributeValueMemberBS{Value: [][]byte{b64("AAEqQQ=="), b64("AAEqQQ==")}},
			"List":      &types.AttributeValueMemberL{Value: []types.AttributeValue{s("Cookies"), s("Coffee"), n("3.14159")}},
			"Map": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"Name": s("Joe"),
				"Age":  n("35"),
			}},
			"FloatNumber":    n("123.45"),
			"IntegerNumber":  n("123"),
			"NumberSet":      &types.AttributeValueMemberNS{Value: []string{"1234", "567.8"}},
			"Null":           &types.AttributeValueMemberNULL{Value: true},
			"String":         s("Hello"),
			"StringSet":      &types.AttributeValueMemberSS{Value: []string{"Giraffe", "Zebra"}},
			"EmptyStringSet": &types.AttributeValueMemberSS{},
		}),
	}

	got, err := json.Marshal(ToEvent("arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table/stream/2016-12-01T00:00:00.000", recs))
	require.NoError(t, err)
	require.JSONEq(t, string(fixture), string(got))

	// The fixture also reads back into the value ToEvent built.
	var fromFixture events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(fixture, &fromFixture))
	again, err := json.Marshal(fromFixture)
	require.NoError(t, err)
	require.JSONEq(t, string(got), string(again))
}
