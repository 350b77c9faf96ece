package aggregate

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Writer is where a Handler writes a batch's aggregates: it plans the batch
// for the items it keeps (its scope, its buckets' retention) and applies
// the plan one Update at a time, several at once. Store (DynamoDB) and
// Memory are Writers; package aggregatetest holds the cases every one must
// pass.
type Writer interface {
	// Plan reduces a batch from the stream shard named shard to one
	// Update per aggregate item (see the function Plan).
	Plan(shard string, records []events.DynamoDBEventRecord) ([]*Update, error)
	// Apply adds one Update to its item, atomically, leaving out the
	// records the item has taken before (at or below its watermark for
	// the Update's shard and hour), so that an Update may be applied again.
	Apply(ctx context.Context, u *Update) error
}

// Reader reads the aggregates: what the HTTP API's stats routes show.
type Reader interface {
	// Counts are one package's executions by status now, every status
	// listed (zero when none).
	Counts(ctx context.Context, r Ref) (Counts, error)
	// Stats are the aggregates f selects (ErrBadFilter for a project
	// without its folder or a package without its project).
	Stats(ctx context.Context, f Filter) (Stats, error)
	// Pools are the aggregates of the pools named, sorted by name; a pool
	// that never had an execution is left out.
	Pools(ctx context.Context, pools []string) ([]Stats, error)
	// Workers are the aggregates of the workers named, sorted by id; a
	// worker that never ran an execution is left out.
	Workers(ctx context.Context, ids []string) ([]Stats, error)
	// Dashboard is what ended from since (rounded up to the hour) until
	// now, and what runs now.
	Dashboard(ctx context.Context, since time.Time) (Dashboard, error)
}

var (
	_ Writer = (*Store)(nil)
	_ Reader = (*Store)(nil)
	_ Writer = (*Memory)(nil)
	_ Reader = (*Memory)(nil)
)

// Defaults of a store's options.
const (
	// DefaultRetention is how long hourly and daily bucket items are kept
	// after their bucket ends (DynamoDB TTL).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultDedupWindow is how long an item keeps the watermarks of an
	// hour's records: the stream's retention (24 h, the longest a record
	// can be redelivered) plus an hour of margin.
	DefaultDedupWindow = 25 * time.Hour
)

// Option configures a Store or a Memory.
type Option func(*options)

// options are what Store and Memory share of their configuration.
type options struct {
	now         func() time.Time
	scope       string
	retention   time.Duration
	dedupWindow time.Duration
}

func newOptions(opts []Option) options {
	o := options{now: time.Now, retention: DefaultRetention, dedupWindow: DefaultDedupWindow}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithScope prefixes every partition key the store reads and writes, so
// that several sets of aggregates share one table (tests use it).
func WithScope(scope string) Option { return func(o *options) { o.scope = scope } }

// WithClock sets the store's clock: the end of a Dashboard's window, and,
// in Memory, what has expired.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRetention sets how long bucket items are kept after their bucket
// ends (default DefaultRetention).
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithDedupWindow sets how long the watermarks of an hour's records are
// kept (default DefaultDedupWindow). It must be at least the longest a
// record can be delivered after it was written (the event source mapping's
// MaximumRecordAgeInSeconds, or the stream's 24 h retention).
func WithDedupWindow(d time.Duration) Option { return func(o *options) { o.dedupWindow = d } }
