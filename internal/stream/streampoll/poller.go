package streampoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/wait"
)

// Handler is what Lambda would call with a batch of stream records of one shard, as with an event
// source mapping with a tumbling window: the event names its shard (ShardID) and the stream
// (EventSourceARN). Records with a failure to report go in BatchItemFailures, by sequence number
// (ItemIdentifier), as with the event source mapping's ReportBatchItemFailures. The window's state
// is not kept.
type Handler func(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)

// Defaults and limits of Config.
const (
	DefaultBatchSize            = 100
	DefaultPollInterval         = 250 * time.Millisecond
	DefaultMaxRetries           = 5
	DefaultShardRefreshInterval = 10 * time.Second
	DefaultRetryBaseDelay       = 100 * time.Millisecond
	DefaultRetryMaxDelay        = 10 * time.Second

	// MaxBatchSize is the largest BatchSize an event source mapping on a DynamoDB stream accepts.
	MaxBatchSize = 10000
	// RetryForever as MaxRetries retries a failing batch until it succeeds, blocking its shard, like
	// MaximumRetryAttempts -1 (Lambda's default).
	RetryForever = -1

	// getRecordsLimit is the most records one GetRecords call returns.
	getRecordsLimit = 1000
	// commitTimeout bounds one checkpoint write, which may run after Run's context is canceled.
	commitTimeout = 10 * time.Second
)

// Config tells a Poller which stream to read and how to hand it to its Handler. Zero values take the
// defaults above.
type Config struct {
	// StreamARN is required: the LatestStreamArn of the table.
	StreamARN string
	// BatchSize is the most records per handler call, like the event source mapping's BatchSize
	// (default 100, at most 10,000). A call gets at most the records of one GetRecords call (≤ 1,000).
	BatchSize int32
	// PollInterval is the wait after a GetRecords call that returned nothing (default 250ms).
	PollInterval time.Duration
	// MaxRetries is how often a failed batch is retried (default 5; RetryForever retries without
	// end), like MaximumRetryAttempts. After the last retry the failed records are logged at error
	// level with their sequence numbers, checkpointed and skipped.
	MaxRetries int
	// Filter, when set, keeps only the records it accepts, like the event
	// source mapping's filter criteria: the others are never handed to the
	// handler (the checkpoint moves past them).
	Filter func(types.Record) bool
	// Logger receives the poller's logs (default slog.Default()).
	Logger *slog.Logger
	// ShardRefreshInterval is how often the stream is described to find new shards (default 10s).
	// A shard that ends also triggers a refresh, to start its children promptly.
	ShardRefreshInterval time.Duration
	// RetryBaseDelay is the first wait before retrying a failed batch or AWS call; each further
	// failure doubles it, up to RetryMaxDelay (defaults 100ms and 10s).
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
}

// Validate reports every problem with the configuration, joined with errors.Join. Zero values are
// valid: they stand for the defaults.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.StreamARN == "":
		errs = append(errs, errors.New("StreamARN is required: set it to the table's LatestStreamArn"))
	case !strings.HasPrefix(c.StreamARN, "arn:") || !strings.Contains(c.StreamARN, ":table/") || !strings.Contains(c.StreamARN, "/stream/"):
		errs = append(errs, fmt.Errorf("StreamARN %q is not a DynamoDB stream ARN (arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>): use the table's LatestStreamArn", c.StreamARN))
	}
	if c.BatchSize < 0 || c.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("BatchSize %d is out of range: use 1 to %d, or 0 for %d", c.BatchSize, MaxBatchSize, DefaultBatchSize))
	}
	if c.MaxRetries < RetryForever {
		errs = append(errs, fmt.Errorf("MaxRetries %d is invalid: use a positive count, 0 for %d, or RetryForever (-1)", c.MaxRetries, DefaultMaxRetries))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"PollInterval", c.PollInterval},
		{"ShardRefreshInterval", c.ShardRefreshInterval},
		{"RetryBaseDelay", c.RetryBaseDelay},
		{"RetryMaxDelay", c.RetryMaxDelay},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative: use a positive duration, or 0 for the default", d.name, d.d))
		}
	}
	if d := c.withDefaults(); c.RetryBaseDelay >= 0 && c.RetryMaxDelay >= 0 && d.RetryMaxDelay < d.RetryBaseDelay {
		errs = append(errs, fmt.Errorf("RetryMaxDelay %v is shorter than RetryBaseDelay %v", d.RetryMaxDelay, d.RetryBaseDelay))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ShardRefreshInterval == 0 {
		c.ShardRefreshInterval = DefaultShardRefreshInterval
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxDelay == 0 {
		c.RetryMaxDelay = max(DefaultRetryMaxDelay, c.RetryBaseDelay)
	}
	return c
}

// Poller reads a DynamoDB stream and hands its records to a Handler in batches, as Lambda's event
// source mapping does. Shards are read concurrently, each by one goroutine: the handler may run
// concurrently for different shards, never for one shard.
type Poller struct {
	streams *dynamodbstreams.Client
	cp      Checkpoints
	h       Handler
	cfg     Config
	log     *slog.Logger
	running atomic.Bool

	// iteratorHook, when set by a test, rewrites each shard iterator before GetRecords uses it.
	iteratorHook func(iterator string) string
}

// New returns a Poller of the stream cfg.StreamARN. It reports every problem with its arguments at
// once.
func New(streams *dynamodbstreams.Client, cp Checkpoints, h Handler, cfg Config) (*Poller, error) {
	var errs []error
	if streams == nil {
		errs = append(errs, errors.New("the DynamoDB Streams client is nil"))
	}
	if cp == nil {
		errs = append(errs, errors.New("Checkpoints is nil: use NewDynamoCheckpoints"))
	}
	if h == nil {
		errs = append(errs, errors.New("Handler is nil"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("streampoll.New: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Poller{
		streams: streams,
		cp:      cp,
		h:       h,
		cfg:     cfg,
		log:     cfg.Logger.With("stream_arn", cfg.StreamARN),
	}, nil
}

// Run polls the stream until ctx is canceled, then waits for its shard readers to stop and returns
// nil. It returns an error if the stream does not exist or Run is already running.
//
// Run finds shards with DescribeStream and describes the stream again every ShardRefreshInterval to
// find new ones. A shard is read only once its parent is finished (its last GetRecords returned no
// NextShardIterator) or no longer listed. A shard starts after its checkpoint
// (AFTER_SEQUENCE_NUMBER), or at TRIM_HORIZON when it has none. Failing AWS calls are retried with
// backoff and logged.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("streampoll: Run called while the poller is already running")
	}
	defer p.running.Store(false)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	shards := newShardSet()
	finished := make(chan string)
	refresh := time.NewTimer(0)
	defer refresh.Stop()
	var status types.StreamStatus
	describeFailures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-finished:
			shards.finish(id)
			p.log.InfoContext(ctx, "streampoll: shard finished", "shard_id", id)
			refresh.Reset(0)
		case <-refresh.C:
			list, st, err := p.describe(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if _, ok := errors.AsType[*types.ResourceNotFoundException](err); ok {
					return fmt.Errorf("streampoll: stream %s not found: set StreamARN to the table's LatestStreamArn: %w", p.cfg.StreamARN, err)
				}
				describeFailures++
				d := p.backoff(describeFailures)
				p.log.WarnContext(ctx, "streampoll: describe stream failed; retrying", "attempt", describeFailures, "retry_in", d, "error", err)
				refresh.Reset(d)
				continue
			}
			describeFailures = 0
			if st != status {
				p.log.InfoContext(ctx, "streampoll: stream status", "status", st, "shards", len(list))
				status = st
			}
			shards.update(list)
			refresh.Reset(p.cfg.ShardRefreshInterval)
		}
		for _, id := range shards.ready() {
			shards.start(id)
			wg.Go(func() {
				s := &shardReader{p: p, id: id, log: p.log.With("shard_id", id)}
				if s.run(ctx) {
					select {
					case finished <- id:
					case <-ctx.Done():
					}
				}
			})
		}
	}
}

// describe lists every shard of the stream, following LastEvaluatedShardId.
func (p *Poller) describe(ctx context.Context) ([]shardInfo, types.StreamStatus, error) {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.cfg.StreamARN)}
	var list []shardInfo
	for {
		out, err := p.streams.DescribeStream(ctx, in)
		if err != nil {
			return nil, "", err
		}
		d := out.StreamDescription
		if d == nil {
			return nil, "", errors.New("DescribeStream returned no StreamDescription")
		}
		for _, s := range d.Shards {
			list = append(list, shardInfo{id: aws.ToString(s.ShardId), parent: aws.ToString(s.ParentShardId)})
		}
		if d.LastEvaluatedShardId == nil {
			return list, d.StreamStatus, nil
		}
		in.ExclusiveStartShardId = d.LastEvaluatedShardId
	}
}

// invoke calls the handler, turning a panic into an error as a Lambda function error would be.
func (p *Poller) invoke(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (resp events.DynamoDBTimeWindowEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return p.h(ctx, ev)
}

// event is the handler's event for records of this shard.
func (s *shardReader) event(recs []types.Record) events.DynamoDBTimeWindowEvent {
	ev := events.DynamoDBTimeWindowEvent{DynamoDBEvent: ToEvent(s.p.cfg.StreamARN, recs)}
	ev.ShardID = s.id
	ev.EventSourceARN = s.p.cfg.StreamARN
	ev.State = map[string]string{}
	return ev
}

// backoff is the wait before retry number attempt (1, 2, ...).
func (p *Poller) backoff(attempt int) time.Duration {
	return wait.Backoff(p.cfg.RetryBaseDelay, p.cfg.RetryMaxDelay, attempt)
}

// shardReader reads one shard from its checkpoint to its end (or until the context ends).
type shardReader struct {
	p   *Poller
	id  string
	log *slog.Logger
	pos string // sequence number of the last record handled and checkpointed; "" for none
}

// run reads the shard and reports whether it reached the shard's end.
func (s *shardReader) run(ctx context.Context) bool {
	err := s.retry(ctx, "read checkpoint", func() error {
		seq, ok, err := s.p.cp.Get(ctx, s.p.cfg.StreamARN, s.id)
		if ok {
			s.pos = seq
		}
		return err
	})
	if err != nil {
		return false
	}
	s.log.DebugContext(ctx, "streampoll: reading shard", "after_sequence_number", s.pos)

	iter, gone, err := s.iterator(ctx)
	if err != nil {
		return false
	}
	if gone {
		return true
	}
	limit := min(s.p.cfg.BatchSize, getRecordsLimit)
	failures := 0
	for {
		if s.p.iteratorHook != nil {
			iter = s.p.iteratorHook(iter)
		}
		out, err := s.p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(iter), Limit: aws.Int32(limit)})
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			if _, ok := errors.AsType[*types.ExpiredIteratorException](err); ok {
				s.log.InfoContext(ctx, "streampoll: shard iterator expired; getting a new one after the checkpoint", "sequence_number", s.pos)
			} else if _, ok := errors.AsType[*types.TrimmedDataAccessException](err); ok {
				// DynamoDB Local answers so for an iterator taken before a
				// new stream's first records; nothing is lost (a new
				// iterator after the checkpoint reads them, and one whose
				// records really were trimmed is warned about there).
				s.log.InfoContext(ctx, "streampoll: the shard iterator went stale; getting a new one after the checkpoint", "sequence_number", s.pos, "error", err)
			} else if _, ok := errors.AsType[*types.ResourceNotFoundException](err); ok {
				s.log.WarnContext(ctx, "streampoll: shard no longer exists; treating it as finished", "error", err)
				return true
			} else {
				failures++
				d := s.p.backoff(failures)
				s.log.WarnContext(ctx, "streampoll: GetRecords failed; retrying", "attempt", failures, "retry_in", d, "error", err)
				if wait.For(ctx, d) != nil {
					return false
				}
				continue
			}
			if iter, gone, err = s.iterator(ctx); err != nil {
				return false
			}
			if gone {
				return true
			}
			continue
		}
		failures = 0
		recs := out.Records
		if s.p.cfg.Filter != nil {
			recs = slices.DeleteFunc(slices.Clone(recs), func(r types.Record) bool { return !s.p.cfg.Filter(r) })
			if len(recs) == 0 && len(out.Records) > 0 {
				if s.commit(ctx, seqOf(out.Records[len(out.Records)-1])) != nil {
					return false
				}
			}
		}
		for batch := range slices.Chunk(recs, int(s.p.cfg.BatchSize)) {
			if s.deliver(ctx, batch) != nil {
				return false
			}
		}
		if out.NextShardIterator == nil {
			return true
		}
		iter = *out.NextShardIterator
		if len(out.Records) == 0 && wait.For(ctx, s.p.cfg.PollInterval) != nil {
			return false
		}
	}
}

// iterator returns an iterator just after the checkpoint, or at TRIM_HORIZON without one. gone is
// true when the shard no longer exists or has nothing left to read. The error is only ever the
// context's.
func (s *shardReader) iterator(ctx context.Context) (iter string, gone bool, err error) {
	in := &dynamodbstreams.GetShardIteratorInput{
		StreamArn:         aws.String(s.p.cfg.StreamARN),
		ShardId:           aws.String(s.id),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}
	if s.pos != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(s.pos)
	}
	for failures := 0; ; {
		out, err := s.p.streams.GetShardIterator(ctx, in)
		if err == nil {
			if out.ShardIterator == nil {
				return "", true, nil
			}
			return *out.ShardIterator, false, nil
		}
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		if _, ok := errors.AsType[*types.TrimmedDataAccessException](err); ok && in.SequenceNumber != nil {
			s.log.WarnContext(ctx, "streampoll: records after the checkpoint were trimmed from the stream (older than its 24-hour retention) and are lost; resuming at TRIM_HORIZON",
				"sequence_number", s.pos, "error", err)
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeTrimHorizon, nil
			continue
		}
		if _, ok := errors.AsType[*types.ResourceNotFoundException](err); ok {
			s.log.WarnContext(ctx, "streampoll: shard no longer exists; treating it as finished", "error", err)
			return "", true, nil
		}
		failures++
		d := s.p.backoff(failures)
		s.log.WarnContext(ctx, "streampoll: GetShardIterator failed; retrying", "iterator_type", in.ShardIteratorType, "sequence_number", s.pos, "attempt", failures, "retry_in", d, "error", err)
		if wait.For(ctx, d) != nil {
			return "", false, ctx.Err()
		}
	}
}

// deliver hands recs to the handler with the event source mapping's semantics and checkpoints
// what it handled. The error is only ever the context's.
func (s *shardReader) deliver(ctx context.Context, recs []types.Record) error {
	if _, dropped := toEvent(s.p.cfg.StreamARN, recs); len(dropped) > 0 {
		for _, d := range dropped {
			s.log.WarnContext(ctx, "streampoll: attribute left out of the event: its type is unknown to this SDK", "attribute", d)
		}
	}
	failures := 0
	for {
		if err := ctx.Err(); err != nil {
			return err // stopping: the rest is delivered again after a restart
		}
		resp, err := s.p.invoke(ctx, s.event(recs))
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // stopping: the batch is delivered again after a restart
		}
		failedAt, cause := len(recs), error(nil)
		if err != nil {
			failedAt, cause = 0, err
		} else if len(resp.BatchItemFailures) > 0 {
			failedAt, cause = firstFailure(resp.BatchItemFailures, recs)
		}
		if failedAt > 0 {
			if err := s.commit(ctx, seqOf(recs[failedAt-1])); err != nil {
				return err
			}
			if failedAt == len(recs) {
				return nil
			}
			recs, failures = recs[failedAt:], 0
		}
		failures++
		if s.p.cfg.MaxRetries != RetryForever && failures > s.p.cfg.MaxRetries {
			for _, r := range recs {
				s.log.ErrorContext(ctx, "streampoll: retries exhausted; skipping record",
					"sequence_number", seqOf(r), "event_id", aws.ToString(r.EventID), "event_name", r.EventName,
					"keys", keysOf(r), "attempts", failures, "error", cause)
			}
			return s.commit(ctx, seqOf(recs[len(recs)-1]))
		}
		d := s.p.backoff(failures)
		s.log.WarnContext(ctx, "streampoll: handler failed; retrying",
			"sequence_number", seqOf(recs[0]), "records", len(recs), "attempt", failures, "retry_in", d, "error", cause)
		if err := wait.For(ctx, d); err != nil {
			return err
		}
	}
}

// commit checkpoints seq. A write that starts after ctx is canceled still gets commitTimeout to
// finish, so that work handled while stopping is not delivered again.
func (s *shardReader) commit(ctx context.Context, seq string) error {
	err := s.retry(ctx, "write checkpoint", func() error {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		return s.p.cp.Put(wctx, s.p.cfg.StreamARN, s.id, seq)
	})
	if err != nil {
		s.log.WarnContext(ctx, "streampoll: stopped before the checkpoint was written; records after the previous one will be delivered again",
			"sequence_number", seq, "previous_sequence_number", s.pos)
		return err
	}
	s.pos = seq
	return nil
}

// retry calls fn until it succeeds or ctx ends, logging each failure. The error is only ever the
// context's.
func (s *shardReader) retry(ctx context.Context, what string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := s.p.backoff(attempt)
		s.log.WarnContext(ctx, "streampoll: "+what+" failed; retrying", "attempt", attempt, "retry_in", d, "error", err)
		if err := wait.For(ctx, d); err != nil {
			return err
		}
	}
}

// firstFailure returns the index in recs of the first record the handler reported as failed. An
// identifier that is not the sequence number of a record in the batch fails the whole batch, as in
// Lambda.
func firstFailure(failures []events.DynamoDBBatchItemFailure, recs []types.Record) (int, error) {
	first := len(recs)
	for _, f := range failures {
		i := slices.IndexFunc(recs, func(r types.Record) bool { return seqOf(r) == f.ItemIdentifier })
		if f.ItemIdentifier == "" || i < 0 {
			return 0, fmt.Errorf("handler reported a batch item failure with itemIdentifier %q, which is not the sequence number of a record in the batch: the whole batch failed", f.ItemIdentifier)
		}
		first = min(first, i)
	}
	return first, fmt.Errorf("handler reported a failure of record %s", seqOf(recs[first]))
}

func seqOf(r types.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	return aws.ToString(r.Dynamodb.SequenceNumber)
}

// keysOf renders the string and number key attributes of a record, e.g. "pk=EXEC#1 sk=META".
func keysOf(r types.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	var parts []string
	for k, v := range r.Dynamodb.Keys {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			parts = append(parts, k+"="+v.Value)
		case *types.AttributeValueMemberN:
			parts = append(parts, k+"="+v.Value)
		default:
			parts = append(parts, k+"=<binary>")
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// TransitionsOnly is the executions stream's filter (resources.IsTransition,
// which the stack's event source mapping states as filter patterns): an
// item created or deleted, or a change of its status.
func TransitionsOnly(r types.Record) bool {
	if r.Dynamodb == nil {
		return false
	}
	status := func(img map[string]types.AttributeValue) string {
		if v, ok := img["status"].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return resources.IsTransition(string(r.EventName), status(r.Dynamodb.OldImage), status(r.Dynamodb.NewImage))
}
