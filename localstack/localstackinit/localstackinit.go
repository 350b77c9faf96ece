package localstackinit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
)

// DLQARNPlaceholder stands for a dead-letter queue's ARN in the RedrivePolicy
// of a generated queue file: the ARN is known only once LocalStack has made
// the queue, so the hook substitutes it. It cannot occur in a real ARN.
const DLQARNPlaceholder = "@DLQ_ARN@"

// Prefixes of the generated file names; the rest of a name is the table or
// queue name, then ".json".
const (
	TablePrefix = "table-"
	TTLPrefix   = "ttl-"
	QueuePrefix = "queue-"
)

var fileNamePart = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Files renders the AWS CLI input files that create set's tables and queues,
// keyed by file name (see the package documentation for the names). The JSON
// is indented, with sorted keys, no null or empty values, and a final newline,
// so the same set always gives the same bytes.
func Files(set resources.Set) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(prefix, resource string, v any) error {
		if !fileNamePart.MatchString(resource) {
			return fmt.Errorf("resource name %q: only letters, digits, '-' and '_' can name a file", resource)
		}
		name := prefix + resource + ".json"
		if _, dup := files[name]; dup {
			return fmt.Errorf("two resources render to %s: rename a pool or table", name)
		}
		b, err := cliJSON(v)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files[name] = b
		return nil
	}

	for _, t := range set.Tables() {
		in := bootstrap.CreateTableInput(t)
		// bootstrap collects the attributes in a map: fix their order.
		slices.SortFunc(in.AttributeDefinitions, func(a, b ddbtypes.AttributeDefinition) int {
			return strings.Compare(aws.ToString(a.AttributeName), aws.ToString(b.AttributeName))
		})
		if err := add(TablePrefix, t.Name, in); err != nil {
			return nil, err
		}
		if t.TTLAttribute == "" {
			continue
		}
		ttl := &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(t.Name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
				AttributeName: aws.String(t.TTLAttribute),
				Enabled:       aws.Bool(true),
			},
		}
		if err := add(TTLPrefix, t.Name, ttl); err != nil {
			return nil, err
		}
	}

	for _, pool := range slices.Sorted(maps.Keys(set.Pools)) {
		q := set.Pools[pool]
		dlqARN := ""
		if dlq := q.DeadLetter; dlq != nil {
			if dlq.DeadLetter != nil {
				return nil, fmt.Errorf("pool %q: the dead-letter queue %s has a dead-letter queue itself, which the LocalStack hook does not create", pool, dlq.Name)
			}
			if err := addQueue(add, *dlq, ""); err != nil {
				return nil, err
			}
			dlqARN = DLQARNPlaceholder
		}
		if err := addQueue(add, q, dlqARN); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func addQueue(add func(prefix, resource string, v any) error, q resources.Queue, dlqARN string) error {
	attrs, err := bootstrap.QueueAttributes(q, dlqARN)
	if err != nil {
		return fmt.Errorf("attributes of queue %s: %w", q.Name, err)
	}
	return add(QueuePrefix, q.Name, &sqs.CreateQueueInput{QueueName: aws.String(q.Name), Attributes: attrs})
}

// cliJSON renders an SDK input struct in the shape of the AWS CLI's
// --cli-input-json. The SDK's field names are the API's member names, which
// are what the CLI reads; fields left unset (nil, empty strings and empty
// lists or maps) are dropped, since the CLI rejects nulls.
func cliJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	doc, _ = prune(doc)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil { // maps come out sorted, with a final newline
		return nil, err
	}
	return buf.Bytes(), nil
}

// prune drops nulls, empty strings, and lists and objects left empty, and
// reports whether anything of v remains.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, x != ""
	case map[string]any:
		for k, e := range x {
			if p, keep := prune(e); keep {
				x[k] = p
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	case []any:
		out := x[:0]
		for _, e := range x {
			if p, keep := prune(e); keep {
				out = append(out, p)
			}
		}
		return out, len(out) > 0
	default:
		return x, true
	}
}
