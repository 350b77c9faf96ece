package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scaleout/scaleout/pkg/resources"
)

// Result tells where the created resources are.
type Result struct {
	// ExecutionsStreamARN is the executions table's latest stream.
	ExecutionsStreamARN string
	// QueueURLs maps a pool to its work queue URL.
	QueueURLs map[string]string
	// WebhookQueueURL is the webhook queue's URL.
	WebhookQueueURL string
}

// Ensure creates every table and queue of set that does not exist yet and
// waits until the tables are active.
func Ensure(ctx context.Context, ddb *dynamodb.Client, q *sqs.Client, set resources.Set) (Result, error) {
	res := Result{QueueURLs: map[string]string{}}
	for _, t := range set.Tables() {
		if err := ensureTable(ctx, ddb, t); err != nil {
			return res, err
		}
	}
	out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(set.Executions.Name)})
	if err != nil {
		return res, fmt.Errorf("describe table %s: %w", set.Executions.Name, err)
	}
	res.ExecutionsStreamARN = aws.ToString(out.Table.LatestStreamArn)
	for pool, queue := range set.Pools {
		url, err := ensureQueue(ctx, q, queue)
		if err != nil {
			return res, err
		}
		res.QueueURLs[pool] = url
	}
	res.WebhookQueueURL, err = ensureQueue(ctx, q, set.Webhooks)
	return res, err
}

// CreateTableInput turns a table definition into the SDK's request.
func CreateTableInput(t resources.Table) *dynamodb.CreateTableInput {
	attrs := map[string]ddbtypes.ScalarAttributeType{}
	keySchema := func(pk resources.Key, sk *resources.Key) []ddbtypes.KeySchemaElement {
		attrs[pk.Name] = ddbtypes.ScalarAttributeType(pk.Type)
		ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: ddbtypes.KeyTypeHash}}
		if sk != nil {
			attrs[sk.Name] = ddbtypes.ScalarAttributeType(sk.Type)
			ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: ddbtypes.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, ix := range t.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.PartitionKey, ix.SortKey),
			Projection: projection(ix.Projection),
		})
	}
	for name, typ := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: typ,
		})
	}
	if t.Stream {
		in.StreamSpecification = &ddbtypes.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages,
		}
	}
	return in
}

func projection(p resources.Projection) *ddbtypes.Projection {
	switch p.Type {
	case resources.ProjectKeysOnly:
		return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly}
	case resources.ProjectInclude:
		return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude, NonKeyAttributes: slices.Clone(p.NonKeyAttributes)}
	default:
		return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
	}
}

// CheckIndexes compares the indexes of an existing table (as DescribeTable
// gives them) with t's, and says what differs: a table made by an older
// version keeps its old indexes, which this version cannot read.
func CheckIndexes(t resources.Table, got []ddbtypes.GlobalSecondaryIndexDescription) error {
	have := map[string]ddbtypes.GlobalSecondaryIndexDescription{}
	for _, ix := range got {
		have[aws.ToString(ix.IndexName)] = ix
	}
	var problems []string
	for _, ix := range t.Indexes {
		g, ok := have[ix.Name]
		delete(have, ix.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("index %s is missing", ix.Name))
			continue
		}
		if d := keysDiffer(ix, g.KeySchema); d != "" {
			problems = append(problems, fmt.Sprintf("index %s %s", ix.Name, d))
		}
		p := projection(ix.Projection)
		var gp ddbtypes.Projection
		if g.Projection != nil {
			gp = *g.Projection
		}
		if gp.ProjectionType != p.ProjectionType {
			problems = append(problems, fmt.Sprintf("index %s projects %s, want %s", ix.Name, gp.ProjectionType, p.ProjectionType))
		} else if p.ProjectionType == ddbtypes.ProjectionTypeInclude &&
			!slices.Equal(slices.Sorted(slices.Values(gp.NonKeyAttributes)), slices.Sorted(slices.Values(p.NonKeyAttributes))) {
			problems = append(problems, fmt.Sprintf("index %s projects %v, want %v", ix.Name, gp.NonKeyAttributes, p.NonKeyAttributes))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(have)) {
		problems = append(problems, fmt.Sprintf("index %s is not one of this version's", name))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("table %s was made with other indexes than this version of Scaleout uses (%s); "+
		"delete the table and start again (locally `scaleout standins down` drops every table of an in-memory "+
		"DynamoDB Local, and `scaleout dev` keeps its tables in its --data directory: move it aside; or "+
		"`aws dynamodb delete-table --table-name %s`), its executions are lost: %w",
		t.Name, strings.Join(problems, "; "), t.Name, ErrIndexesDiffer)
}

// ErrIndexesDiffer is returned by Ensure for an existing table whose
// indexes are not the ones its definition states.
var ErrIndexesDiffer = errors.New("table indexes differ from their definition")

func keysDiffer(ix resources.Index, ks []ddbtypes.KeySchemaElement) string {
	want := []string{string(ddbtypes.KeyTypeHash) + " " + ix.PartitionKey.Name}
	if ix.SortKey != nil {
		want = append(want, string(ddbtypes.KeyTypeRange)+" "+ix.SortKey.Name)
	}
	var got []string
	for _, k := range ks {
		got = append(got, string(k.KeyType)+" "+aws.ToString(k.AttributeName))
	}
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("is keyed on %v, want %v", got, want)
}

func ensureTable(ctx context.Context, ddb *dynamodb.Client, t resources.Table) error {
	_, err := ddb.CreateTable(ctx, CreateTableInput(t))
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		// Already there (or being created by another process): wait below.
	case err != nil:
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", t.Name, err)
	}
	if inUse != nil {
		desc, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", t.Name, err)
		}
		if err := CheckIndexes(t, desc.Table.GlobalSecondaryIndexes); err != nil {
			return err
		}
	}
	if t.TTLAttribute == "" {
		return nil
	}
	ttl, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.Name)})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", t.Name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
		return nil
	}
	_, err = ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(t.Name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
			AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true),
		},
	})
	var ve interface{ ErrorMessage() string }
	if err != nil && errors.As(err, &ve) && strings.Contains(ve.ErrorMessage(), "already enabled") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", t.Name, err)
	}
	return nil
}

// QueueAttributes turns a queue definition into SQS attributes; dlqARN is
// the dead-letter queue's ARN, or empty.
func QueueAttributes(q resources.Queue, dlqARN string) (map[string]string, error) {
	attrs := map[string]string{}
	if q.VisibilityTimeout > 0 {
		attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)] = secs(q.VisibilityTimeout)
	}
	if q.ReceiveWait > 0 {
		attrs[string(sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds)] = secs(q.ReceiveWait)
	}
	if q.Retention > 0 {
		attrs[string(sqstypes.QueueAttributeNameMessageRetentionPeriod)] = secs(q.Retention)
	}
	if dlqARN != "" {
		p, err := json.Marshal(map[string]string{
			"deadLetterTargetArn": dlqARN,
			"maxReceiveCount":     strconv.Itoa(q.MaxReceiveCount),
		})
		if err != nil {
			return nil, err
		}
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(p)
	}
	return attrs, nil
}

func secs(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// EnsureQueue creates the queue def (and its dead-letter queue first)
// unless it exists, and returns its URL.
func EnsureQueue(ctx context.Context, q *sqs.Client, def resources.Queue) (string, error) {
	return ensureQueue(ctx, q, def)
}

func ensureQueue(ctx context.Context, q *sqs.Client, def resources.Queue) (string, error) {
	dlqARN := ""
	if def.DeadLetter != nil {
		url, err := ensureQueue(ctx, q, *def.DeadLetter)
		if err != nil {
			return "", err
		}
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return "", fmt.Errorf("read ARN of queue %s: %w", def.DeadLetter.Name, err)
		}
		dlqARN = out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	attrs, err := QueueAttributes(def, dlqARN)
	if err != nil {
		return "", err
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(def.Name), Attributes: attrs})
	if err != nil {
		// CreateQueue is idempotent for equal attributes; a queue made
		// earlier with other attributes is reused as it is.
		got, gerr := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(def.Name)})
		if gerr != nil {
			return "", fmt.Errorf("create queue %s: %w", def.Name, err)
		}
		return aws.ToString(got.QueueUrl), nil
	}
	return aws.ToString(out.QueueUrl), nil
}
