package awsmeter

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// SQSChunk is the payload size SQS bills as one request: a call whose
// messages carry more is billed one request per started chunk.
const SQSChunk = 64 * 1024

// Units are DynamoDB capacity units, read and write apart (on an on-demand
// table: read request units and write request units).
type Units struct {
	Read, Write float64
}

// Add returns u + o.
func (u Units) Add(o Units) Units { return Units{Read: u.Read + o.Read, Write: u.Write + o.Write} }

// Call names what a call was: its operation ("DynamoDB.PutItem",
// "SQS.SendMessage") and, for a DynamoDB call on one table, the table.
type Call struct {
	Op    string
	Table string
}

// Resource is a table (Index "") or one of its indexes.
type Resource struct {
	Table, Index string
}

// Usage is what the calls metered between two Takes cost.
type Usage struct {
	// Calls holds each call's duration (from the operation's start to its
	// result, retries included), failed calls too.
	Calls map[Call][]time.Duration
	// Failed counts the calls that returned an error. DynamoDB reports no
	// consumed capacity with an error, though AWS bills a failed
	// conditional write at least one write unit.
	Failed map[Call]int
	// Items counts the DynamoDB items the successful calls wrote: one per
	// PutItem, UpdateItem or DeleteItem, one per request of a
	// BatchWriteItem, one per action of a TransactWriteItems.
	Items map[Call]int
	// Capacity is the consumed capacity DynamoDB reported, per table and
	// per index.
	Capacity map[Resource]Units
	// ByOperation is the consumed capacity DynamoDB reported, per
	// operation (the table's and its indexes' together).
	ByOperation map[string]Units
	// SQS counts the SQS requests as they are billed, per operation: one
	// per call, or one per started SQSChunk of the payload of the messages
	// sent (SendMessage, SendMessageBatch) or received (ReceiveMessage)
	// when that is more.
	SQS map[string]int
}

func newUsage() Usage {
	return Usage{Calls: map[Call][]time.Duration{}, Failed: map[Call]int{}, Items: map[Call]int{},
		Capacity: map[Resource]Units{}, ByOperation: map[string]Units{}, SQS: map[string]int{}}
}

// Total is the consumed capacity of every operation.
func (u Usage) Total() Units {
	var t Units
	for _, v := range u.ByOperation {
		t = t.Add(v)
	}
	return t
}

// SQSRequests is the billed SQS requests of every operation.
func (u Usage) SQSRequests() int {
	n := 0
	for _, v := range u.SQS {
		n += v
	}
	return n
}

// CallCount counts the calls, leaving out the operations whose names start
// with one of except ("DynamoDB.BatchWriteItem").
func (u Usage) CallCount(except ...string) int {
	n := 0
	for c, ds := range u.Calls {
		if !slices.ContainsFunc(except, func(e string) bool { return strings.HasPrefix(c.Op, e) }) {
			n += len(ds)
		}
	}
	return n
}

// ItemsWritten is the DynamoDB items written by every operation.
func (u Usage) ItemsWritten() int {
	n := 0
	for _, v := range u.Items {
		n += v
	}
	return n
}

// Meter meters the calls of every client built from a configuration it is
// added to (APIOption). It is safe for concurrent use.
type Meter struct {
	mu sync.Mutex
	u  Usage
}

// New returns a Meter with nothing metered.
func New() *Meter { return &Meter{u: newUsage()} }

// Take returns what was metered since the previous Take (or New) and
// starts afresh.
func (m *Meter) Take() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	m.u = newUsage()
	return u
}

// Peek returns a copy of what was metered since the previous Take, without
// starting afresh.
func (m *Meter) Peek() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := newUsage()
	for k, v := range m.u.Calls {
		u.Calls[k] = slices.Clone(v)
	}
	maps.Copy(u.Failed, m.u.Failed)
	maps.Copy(u.Items, m.u.Items)
	maps.Copy(u.Capacity, m.u.Capacity)
	maps.Copy(u.ByOperation, m.u.ByOperation)
	maps.Copy(u.SQS, m.u.SQS)
	return u
}

// APIOption adds the meter to a client's middleware stack; append it to
// aws.Config.APIOptions (or a client's Options.APIOptions). It runs once per
// operation call, whatever the retries.
func (m *Meter) APIOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("AWSMeter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service := awsmiddleware.GetServiceID(ctx)
			op := service + "." + awsmiddleware.GetOperationName(ctx)
			if service == "DynamoDB" {
				in.Parameters = askCapacity(in.Parameters)
			}
			t0 := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			d := time.Since(t0)
			call := Call{Op: op, Table: tableOf(in.Parameters)}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.u.Calls[call] = append(m.u.Calls[call], d)
			if err != nil {
				m.u.Failed[call]++
			}
			switch service {
			case "DynamoDB":
				if err == nil {
					if n := itemsOf(in.Parameters); n > 0 {
						m.u.Items[call] += n
					}
					m.addCapacity(op, isWrite(in.Parameters), consumed(out.Result))
				}
			case "SQS":
				m.u.SQS[op] += sqsRequests(in.Parameters, out.Result)
			}
			return out, md, err
		}), middleware.After)
}

// addCapacity sums what DynamoDB reported. Where it gives no read and
// write split (it gives CapacityUnits alone for most single operations),
// the units are the operation's kind: write units for a write operation,
// read units otherwise.
func (m *Meter) addCapacity(op string, write bool, ccs []types.ConsumedCapacity) {
	for _, cc := range ccs {
		table := aws.ToString(cc.TableName)
		m.u.ByOperation[op] = m.u.ByOperation[op].Add(split(cc.CapacityUnits, cc.ReadCapacityUnits, cc.WriteCapacityUnits, write))
		if cc.Table != nil {
			r := Resource{Table: table}
			m.u.Capacity[r] = m.u.Capacity[r].Add(capacity(cc.Table, write))
		} else if cc.CapacityUnits != nil && len(cc.GlobalSecondaryIndexes)+len(cc.LocalSecondaryIndexes) == 0 {
			r := Resource{Table: table} // no breakdown: the total is the table's
			m.u.Capacity[r] = m.u.Capacity[r].Add(split(cc.CapacityUnits, cc.ReadCapacityUnits, cc.WriteCapacityUnits, write))
		}
		for _, idx := range []map[string]types.Capacity{cc.GlobalSecondaryIndexes, cc.LocalSecondaryIndexes} {
			for name, c := range idx {
				r := Resource{Table: table, Index: name}
				m.u.Capacity[r] = m.u.Capacity[r].Add(capacity(&c, write))
			}
		}
	}
}

func capacity(c *types.Capacity, write bool) Units {
	return split(c.CapacityUnits, c.ReadCapacityUnits, c.WriteCapacityUnits, write)
}

func split(total, read, write *float64, isWrite bool) Units {
	if read != nil || write != nil {
		return Units{Read: aws.ToFloat64(read), Write: aws.ToFloat64(write)}
	}
	if isWrite {
		return Units{Write: aws.ToFloat64(total)}
	}
	return Units{Read: aws.ToFloat64(total)}
}

// askCapacity returns a copy of a DynamoDB input that asks for the
// consumed capacity of the table and of each index; other inputs are
// returned as they are. The caller's input is not changed.
func askCapacity(params any) any {
	const indexes = types.ReturnConsumedCapacityIndexes
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.UpdateItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.DeleteItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.GetItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.QueryInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.ScanInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.BatchGetItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.BatchWriteItemInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.TransactWriteItemsInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	case *dynamodb.TransactGetItemsInput:
		c := *in
		c.ReturnConsumedCapacity = indexes
		return &c
	}
	return params
}

// consumed is the capacity a DynamoDB output reports.
func consumed(result any) []types.ConsumedCapacity {
	one := func(c *types.ConsumedCapacity) []types.ConsumedCapacity {
		if c == nil {
			return nil
		}
		return []types.ConsumedCapacity{*c}
	}
	switch out := result.(type) {
	case *dynamodb.PutItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.GetItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		return out.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		return out.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		return out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		return out.ConsumedCapacity
	}
	return nil
}

// isWrite tells a DynamoDB write operation from a read.
func isWrite(params any) bool {
	switch params.(type) {
	case *dynamodb.PutItemInput, *dynamodb.UpdateItemInput, *dynamodb.DeleteItemInput,
		*dynamodb.BatchWriteItemInput, *dynamodb.TransactWriteItemsInput:
		return true
	}
	return false
}

// itemsOf is how many items a DynamoDB call writes (0 for reads).
func itemsOf(params any) int {
	switch in := params.(type) {
	case *dynamodb.PutItemInput, *dynamodb.UpdateItemInput, *dynamodb.DeleteItemInput:
		return 1
	case *dynamodb.BatchWriteItemInput:
		n := 0
		for _, reqs := range in.RequestItems {
			n += len(reqs)
		}
		return n
	case *dynamodb.TransactWriteItemsInput:
		return len(in.TransactItems)
	}
	return 0
}

// tableOf names the table a DynamoDB call works on, when it works on one.
func tableOf(params any) string {
	var t *string
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		t = in.TableName
	case *dynamodb.UpdateItemInput:
		t = in.TableName
	case *dynamodb.GetItemInput:
		t = in.TableName
	case *dynamodb.DeleteItemInput:
		t = in.TableName
	case *dynamodb.QueryInput:
		t = in.TableName
	case *dynamodb.ScanInput:
		t = in.TableName
	case *dynamodb.BatchWriteItemInput:
		return onlyKey(in.RequestItems)
	case *dynamodb.BatchGetItemInput:
		return onlyKey(in.RequestItems)
	}
	return aws.ToString(t)
}

func onlyKey[V any](m map[string]V) string {
	if len(m) != 1 {
		return ""
	}
	for k := range m {
		return k
	}
	return ""
}

// sqsRequests is how many requests SQS bills for one call.
func sqsRequests(params, result any) int {
	payload := 0
	switch in := params.(type) {
	case *sqs.SendMessageInput:
		payload = len(aws.ToString(in.MessageBody)) + attrSize(in.MessageAttributes)
	case *sqs.SendMessageBatchInput:
		for _, e := range in.Entries {
			payload += len(aws.ToString(e.MessageBody)) + attrSize(e.MessageAttributes)
		}
	}
	if out, ok := result.(*sqs.ReceiveMessageOutput); ok {
		for _, msg := range out.Messages {
			payload += len(aws.ToString(msg.Body))
		}
	}
	return max(1, (payload+SQSChunk-1)/SQSChunk)
}

// attrSize is the billed size of message attributes: names, types and
// values.
func attrSize(attrs map[string]sqstypes.MessageAttributeValue) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}
