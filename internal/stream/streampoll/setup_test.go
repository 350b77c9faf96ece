package streampoll

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// TestMain starts (or reuses) the project's stand-ins and points the SDK at them.
func TestMain(m *testing.M) { testenv.Main(m) }

// waitFor is how long a test waits for the poller to reach a condition.
const waitFor = 15 * time.Second

// bundle is what an integration test gets from setup: clients of DynamoDB Local, a table of its own
// with a NEW_AND_OLD_IMAGES stream, and checkpoints in a second table of its own.
type bundle struct {
	ddb       *dynamodb.Client
	streams   *dynamodbstreams.Client
	table     string
	streamARN string
	cp        *DynamoCheckpoints
	logs      *logCapture
}

// clients returns SDK clients of the DynamoDB at AWS_ENDPOINT_URL_DYNAMODB, or skips the test.
func clients(t *testing.T) (*dynamodb.Client, *dynamodbstreams.Client) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL_DYNAMODB is empty: TestMain (testenv.Main) should have started DynamoDB Local")
	}
	streamsEndpoint := cmp.Or(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS"), endpoint)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	})
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(streamsEndpoint)
	})
	return ddb, streams
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ddb, streams := clients(t)
	b := &bundle{ddb: ddb, streams: streams, logs: newLogCapture(t)}
	var desc *dbtypes.TableDescription
	b.table, desc = createTable(t, ddb, true)
	b.streamARN = aws.ToString(desc.LatestStreamArn)
	require.NotEmpty(t, b.streamARN)
	cpTable, _ := createTable(t, ddb, false)
	b.cp = NewDynamoCheckpoints(ddb, cpTable)
	return b
}

var tableSeq atomic.Int64

// createTable creates a pk/sk table named after the test, deleted when the test ends.
func createTable(t *testing.T, ddb *dynamodb.Client, stream bool) (string, *dbtypes.TableDescription) {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("streampoll-%s-%d-%d",
		regexp.MustCompile(`[^a-zA-Z0-9_.-]+`).ReplaceAllString(t.Name(), "_"), time.Now().UnixNano(), tableSeq.Add(1))
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: dbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: dbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: dbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: dbtypes.KeyTypeRange},
		},
		BillingMode: dbtypes.BillingModePayPerRequest,
	}
	if stream {
		in.StreamSpecification = &dbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: dbtypes.StreamViewTypeNewAndOldImages}
	}
	out, err := ddb.CreateTable(ctx, in)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		require.NoError(t, err, "delete table %s", name)
	})
	if out.TableDescription.TableStatus != dbtypes.TableStatusActive {
		w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
		})
		d, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute)
		require.NoError(t, err)
		return name, d.Table
	}
	return name, out.TableDescription
}

// config is a Config for tests: short waits, and logs captured.
func (b *bundle) config() Config {
	return Config{
		StreamARN:            b.streamARN,
		PollInterval:         10 * time.Millisecond,
		ShardRefreshInterval: 100 * time.Millisecond,
		RetryBaseDelay:       time.Millisecond,
		RetryMaxDelay:        10 * time.Millisecond,
		Logger:               b.logs.logger(),
	}
}

func (b *bundle) poller(t *testing.T, h Handler, cfg Config) *Poller {
	t.Helper()
	p, err := New(b.streams, b.cp, h, cfg)
	require.NoError(t, err)
	return p
}

// run starts p.Run and returns a function that stops it and returns Run's result; the test's
// cleanup stops it too.
func run(t *testing.T, p *Poller) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitFor):
				err = fmt.Errorf("Run did not return within %v of its context being canceled", waitFor)
			}
		})
		return err
	}
	t.Cleanup(func() { require.NoError(t, stop()) })
	return stop
}

// item writes are what the tests do to the streamed table.
func (b *bundle) put(t *testing.T, pk, sk string, attrs map[string]dbtypes.AttributeValue) {
	t.Helper()
	item := map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: pk},
		"sk": &dbtypes.AttributeValueMemberS{Value: sk},
	}
	for k, v := range attrs {
		item[k] = v
	}
	_, err := b.ddb.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(b.table), Item: item})
	require.NoError(t, err)
}

func (b *bundle) delete(t *testing.T, pk, sk string) {
	t.Helper()
	_, err := b.ddb.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(b.table), Key: map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: pk},
		"sk": &dbtypes.AttributeValueMemberS{Value: sk},
	}})
	require.NoError(t, err)
}

// waitCheckpoint waits until the only shard's checkpoint is seq.
func (b *bundle) waitCheckpoint(t *testing.T, seq string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := b.checkpointsE(t.Context())
		require.NoError(c, err)
		assert.Equal(c, []string{seq}, got)
	}, waitFor, 5*time.Millisecond, "checkpoint never reached %s", seq)
}

// checkpointsE returns the checkpoint of every shard of the stream that has
// one; it returns its error, for goroutines other than the test's.
func (b *bundle) checkpointsE(ctx context.Context) ([]string, error) {
	out, err := b.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(b.streamARN)})
	if err != nil {
		return nil, err
	}
	var seqs []string
	for _, s := range out.StreamDescription.Shards {
		seq, ok, err := b.cp.Get(ctx, b.streamARN, aws.ToString(s.ShardId))
		if err != nil {
			return nil, err
		}
		if ok {
			seqs = append(seqs, seq)
		}
	}
	return seqs, nil
}

// recorder is a Handler that records the batches it gets; respond, if set, decides the answer.
type recorder struct {
	mu      sync.Mutex
	batches [][]events.DynamoDBEventRecord
	shards  []string // the ShardID of each batch
	respond func(call int, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)
}

func (r *recorder) handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	r.mu.Lock()
	r.batches = append(r.batches, ev.Records)
	r.shards = append(r.shards, ev.ShardID)
	if ev.State == nil || ev.EventSourceARN == "" {
		r.shards[len(r.shards)-1] = "" // checked by the tests: a Lambda event has both
	}
	call := len(r.batches)
	r.mu.Unlock()
	if r.respond != nil {
		return r.respond(call, ev)
	}
	return events.DynamoDBTimeWindowEventResponse{}, nil
}

func (r *recorder) snapshot() [][]events.DynamoDBEventRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]events.DynamoDBEventRecord(nil), r.batches...)
}

func (r *recorder) records() []events.DynamoDBEventRecord {
	var all []events.DynamoDBEventRecord
	for _, b := range r.snapshot() {
		all = append(all, b...)
	}
	return all
}

// waitRecords waits until the handler has been given at least n records and returns them all.
func (r *recorder) waitRecords(t *testing.T, n int) []events.DynamoDBEventRecord {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.records()) >= n }, waitFor, 5*time.Millisecond,
		"handler never got %d records", n)
	return r.records()
}

// sortKeys returns the sk of each record, from its keys.
func sortKeys(recs []events.DynamoDBEventRecord) []string {
	sks := make([]string, len(recs))
	for i, r := range recs {
		sks[i] = r.Change.Keys["sk"].String()
	}
	return sks
}

func batchSortKeys(batches [][]events.DynamoDBEventRecord) [][]string {
	out := make([][]string, len(batches))
	for i, b := range batches {
		out[i] = sortKeys(b)
	}
	return out
}

func seqs(recs []events.DynamoDBEventRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Change.SequenceNumber
	}
	return out
}

// seqLess compares sequence numbers as the numbers they are (they vary in length on AWS).
func seqLess(t *testing.T, a, b string) bool {
	t.Helper()
	x, ok := new(big.Int).SetString(a, 10)
	require.True(t, ok, "sequence number %q", a)
	y, ok := new(big.Int).SetString(b, 10)
	require.True(t, ok, "sequence number %q", b)
	return x.Cmp(y) < 0
}

// logCapture keeps what the poller logs, for tests to inspect; a failed test prints it.
type logCapture struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogCapture(t *testing.T) *logCapture {
	c := &logCapture{}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range c.all() {
				t.Logf("%s %s %v", e.level, e.msg, e.attrs)
			}
		}
	})
	return c
}

func (c *logCapture) logger() *slog.Logger { return slog.New(&captureHandler{c: c}) }

func (c *logCapture) all() []logEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logEntry(nil), c.entries...)
}

// find returns the entries with message msg.
func (c *logCapture) find(msg string) []logEntry {
	var out []logEntry
	for _, e := range c.all() {
		if e.msg == msg {
			out = append(out, e)
		}
	}
	return out
}

type captureHandler struct {
	c     *logCapture
	attrs []slog.Attr
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	e := logEntry{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		e.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.attrs[a.Key] = a.Value.String()
		return true
	})
	h.c.mu.Lock()
	h.c.entries = append(h.c.entries, e)
	h.c.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &captureHandler{c: h.c, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }
