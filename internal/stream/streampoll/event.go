package streampoll

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Values Lambda puts in every DynamoDB stream event record.
const (
	eventSource  = "aws:dynamodb"
	eventVersion = "1.1"
)

// ToEvent converts stream records, as GetRecords returns them, into the event Lambda's event source
// mapping would pass to a function subscribed to the stream streamARN.
//
// Every record keeps its EventID, EventName, region, user identity (set for TTL deletions) and its
// whole StreamRecord; EventSourceArn is streamARN. An empty EventSource, EventVersion or region is
// filled with Lambda's value ("aws:dynamodb", "1.1", the region of streamARN). An attribute of a
// type this SDK does not know (types.UnknownUnionMember) cannot be expressed in an event and is
// left out; the Poller logs each one it drops.
func ToEvent(streamARN string, recs []types.Record) events.DynamoDBEvent {
	ev, _ := toEvent(streamARN, recs)
	return ev
}

// toEvent is ToEvent that also reports the attributes it had to leave out, as
// "<sequence number> <image>.<path>: <what>".
func toEvent(streamARN string, recs []types.Record) (events.DynamoDBEvent, []string) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(recs))}
	var dropped []string
	for _, r := range recs {
		out, d := toEventRecord(streamARN, r)
		ev.Records = append(ev.Records, out)
		dropped = append(dropped, d...)
	}
	return ev, dropped
}

func toEventRecord(streamARN string, r types.Record) (events.DynamoDBEventRecord, []string) {
	out := events.DynamoDBEventRecord{
		AWSRegion:      orDefault(aws.ToString(r.AwsRegion), regionOf(streamARN)),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    orDefault(aws.ToString(r.EventSource), eventSource),
		EventVersion:   orDefault(aws.ToString(r.EventVersion), eventVersion),
		EventSourceArn: streamARN,
	}
	if r.UserIdentity != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{
			Type:        aws.ToString(r.UserIdentity.Type),
			PrincipalID: aws.ToString(r.UserIdentity.PrincipalId),
		}
	}
	d := r.Dynamodb
	if d == nil {
		return out, nil
	}
	c := &converter{seq: aws.ToString(d.SequenceNumber)}
	out.Change = events.DynamoDBStreamRecord{
		Keys:           c.image("Keys", d.Keys),
		NewImage:       c.image("NewImage", d.NewImage),
		OldImage:       c.image("OldImage", d.OldImage),
		SequenceNumber: aws.ToString(d.SequenceNumber),
		SizeBytes:      aws.ToInt64(d.SizeBytes),
		StreamViewType: string(d.StreamViewType),
	}
	if d.ApproximateCreationDateTime != nil {
		out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
	}
	return out, c.dropped
}

// converter turns SDK attribute values into aws-lambda-go ones and remembers what it could not convert.
type converter struct {
	seq     string
	dropped []string
}

// image converts a whole item image; a missing image stays nil so that it is left out of the JSON,
// as in Lambda's events.
func (c *converter) image(name string, m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	return c.convertMap(name, m)
}

func (c *converter) convertMap(path string, m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		if av, ok := c.convert(path+"."+k, v); ok {
			out[k] = av
		}
	}
	return out
}

func (c *converter) convert(path string, v types.AttributeValue) (events.DynamoDBAttributeValue, bool) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), true
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), true
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(nonNil(v.Value)), true
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), true
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), true
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(c.convertMap(path, v.Value)), true
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, 0, len(v.Value))
		for i, e := range v.Value {
			if av, ok := c.convert(fmt.Sprintf("%s[%d]", path, i), e); ok {
				l = append(l, av)
			}
		}
		return events.NewListAttribute(l), true
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(nonNil(v.Value)), true
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(nonNil(v.Value)), true
	case *types.AttributeValueMemberBS:
		bs := make([][]byte, len(v.Value))
		for i, b := range v.Value {
			bs[i] = nonNil(b)
		}
		return events.NewBinarySetAttribute(bs), true
	case *types.UnknownUnionMember:
		c.dropped = append(c.dropped, fmt.Sprintf("%s %s: unknown attribute type %q", c.seq, path, v.Tag))
	default:
		c.dropped = append(c.dropped, fmt.Sprintf("%s %s: unsupported attribute value %T", c.seq, path, v))
	}
	return events.DynamoDBAttributeValue{}, false
}

// nonNil returns s, or an empty slice when s is nil, so that an empty set or binary marshals as
// [] or "" (as in Lambda's events) rather than null.
func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// regionOf returns the region field of an ARN ("arn:aws:dynamodb:us-east-1:..."), or "".
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
