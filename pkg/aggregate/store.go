package aggregate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/resources"
)

// Defaults of a Store.
const (
	// DefaultRetention is how long hourly and daily bucket items are kept
	// after their bucket ends (DynamoDB TTL).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultDedupWindow is how long the ids of applied transitions are kept
	// on each aggregate item: the stream's retention (24 h, the longest a
	// record can be redelivered) plus an hour of margin.
	DefaultDedupWindow = 25 * time.Hour
	// maxIDsPerWrite keeps a condition expression under DynamoDB's 4 KB;
	// an item touched by more transitions in one batch takes more writes.
	maxIDsPerWrite = 140
	maxConflicts   = 10
)

// Store reads and writes the aggregates in the catalog table.
type Store struct {
	db          *dynamodb.Client
	table       string
	now         func() time.Time
	scope       string
	retention   time.Duration
	dedupWindow time.Duration

	mu     sync.Mutex
	bounds map[Key]bounds // the last d_min/d_max seen per item

	writes atomic.Int64
	// fail, when set (tests), makes the write of a key fail.
	fail func(Key) error
}

// bounds is what the store last saw of an item's d_min and d_max. Both only
// ever move outwards, so a batch whose durations lie within them has
// nothing to write there.
type bounds struct {
	has      bool
	min, max int64
}

// Option configures a Store.
type Option func(*Store)

// WithScope prefixes every partition key the store reads and writes, so
// that several sets of aggregates share one table (tests use it).
func WithScope(scope string) Option { return func(s *Store) { s.scope = scope } }

// WithClock sets the store's clock.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRetention sets how long bucket items are kept (default DefaultRetention).
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithDedupWindow sets how long applied transition ids are kept (default
// DefaultDedupWindow). It must be at least the longest a record can be
// delivered after it was written (the event source mapping's
// MaximumRecordAgeInSeconds, or the stream's 24 h retention).
func WithDedupWindow(d time.Duration) Option { return func(s *Store) { s.dedupWindow = d } }

// NewStore returns a store on the catalog table.
func NewStore(db *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, now: time.Now, retention: DefaultRetention, dedupWindow: DefaultDedupWindow, bounds: map[Key]bounds{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Writes is how many UpdateItem calls the store has made, conditional
// failures included.
func (s *Store) Writes() int64 { return s.writes.Load() }

// ErrConflict is returned when an item kept changing under a write.
var ErrConflict = errors.New("aggregate item kept changing under the write; retry the batch")

func key(k Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		resources.CatalogPK: &types.AttributeValueMemberS{Value: k.PK},
		resources.CatalogSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func txAttr(hour int64) string { return "tx_" + strconv.FormatInt(hour, 10) }

// Apply writes one Update: one conditional UpdateItem (more only when the
// item has more than maxIDsPerWrite transitions in the batch, or when the
// condition fails because part of it was already applied or the item's
// min/max moved). Transitions already applied to the item are left out,
// so Apply may be repeated.
func (s *Store) Apply(ctx context.Context, u *Update) error {
	for from := 0; from < len(u.contribs); from += maxIDsPerWrite {
		to := min(from+maxIDsPerWrite, len(u.contribs))
		if err := s.applyChunk(ctx, u, from, to); err != nil {
			return fmt.Errorf("update aggregate %s %s: %w", u.Key.PK, u.Key.SK, err)
		}
	}
	return nil
}

func (s *Store) applyChunk(ctx context.Context, u *Update, from, to int) error {
	applied := map[txID]bool{}
	for range maxConflicts {
		m := u.merge(applied, from, to)
		if m.n == 0 {
			return nil
		}
		if s.fail != nil {
			if err := s.fail(u.Key); err != nil {
				return err
			}
		}
		in, setMin, setMax := s.input(u, m)
		s.writes.Add(1)
		_, err := s.db.UpdateItem(ctx, in)
		if err == nil {
			s.mu.Lock()
			b := s.bounds[u.Key]
			if setMin || setMax {
				if !b.has {
					b = bounds{has: true, min: m.dur.MinMS, max: m.dur.MaxMS}
				}
				b.min, b.max = min(b.min, m.dur.MinMS), max(b.max, m.dur.MaxMS)
				s.bounds[u.Key] = b
			}
			s.mu.Unlock()
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return err
		}
		// Learn from the item as it is: which transitions it has, and its
		// bounds; then write what is left.
		b := bounds{}
		if v, ok := num(ccf.Item, "d_min"); ok {
			b.has, b.min = true, v
			b.max, _ = num(ccf.Item, "d_max")
		}
		s.mu.Lock()
		s.bounds[u.Key] = b
		s.mu.Unlock()
		for name, av := range ccf.Item {
			if !strings.HasPrefix(name, "tx_") {
				continue
			}
			if bs, ok := av.(*types.AttributeValueMemberBS); ok {
				for _, v := range bs.Value {
					var id txID
					copy(id[:], v)
					applied[id] = true
				}
			}
		}
	}
	return ErrConflict
}

// input builds the UpdateItem of merged contributions m:
//
//	condition: NOT contains(tx_<hour>, :id) for every transition id
//	           [AND (attribute_not_exists(d_min) OR d_min > :dmin)] [same for d_max]
//	update:    ADD n_<status> :c, d_count, d_sum, h_<bucket>, tx_<hour> :ids
//	           SET names, updated_at, last_*, last_fail_*, expires_at, [d_min, d_max]
//	           REMOVE tx_<hour> sets older than the dedup window
func (s *Store) input(u *Update, m merged) (*dynamodb.UpdateItemInput, bool, bool) {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var cond, set, add, remove []string
	i := 0
	name := func(attr string) string {
		i++
		k := "#a" + strconv.Itoa(i)
		names[k] = attr
		return k
	}
	value := func(v types.AttributeValue) string {
		i++
		k := ":v" + strconv.Itoa(i)
		values[k] = v
		return k
	}
	// Dedup: none of the ids is there yet; add them all.
	hours := make([]int64, 0, len(m.ids))
	maxHour := int64(0)
	for h := range m.ids {
		hours = append(hours, h)
		maxHour = max(maxHour, h)
	}
	sort.Slice(hours, func(a, b int) bool { return hours[a] < hours[b] })
	used := map[int64]bool{}
	for _, h := range hours {
		used[h] = true
		set := name(txAttr(h))
		for _, id := range m.ids[h] {
			cond = append(cond, "NOT contains("+set+", "+value(&types.AttributeValueMemberB{Value: id})+")")
		}
		add = append(add, set+" "+value(&types.AttributeValueMemberBS{Value: m.ids[h]}))
	}
	window := int64(s.dedupWindow / time.Hour)
	for h := maxHour - window - 6; h <= maxHour-window-1; h++ {
		if h >= 0 && !used[h] {
			remove = append(remove, txAttr(h))
		}
	}
	// Counts, durations.
	for _, st := range execution.Statuses {
		if c := m.counts[st]; c != 0 {
			add = append(add, "n_"+string(st)+" "+value(avN(c)))
		}
	}
	setMin, setMax := false, false
	if m.dur.Count > 0 {
		add = append(add, "d_count "+value(avN(m.dur.Count)), "d_sum "+value(avN(m.dur.SumMS)))
		buckets := make([]int, 0, len(m.dur.Buckets))
		for b := range m.dur.Buckets {
			buckets = append(buckets, b)
		}
		sort.Ints(buckets)
		for _, b := range buckets {
			add = append(add, bucketAttr(b)+" "+value(avN(m.dur.Buckets[b])))
		}
		s.mu.Lock()
		b := s.bounds[u.Key]
		s.mu.Unlock()
		if !b.has || m.dur.MinMS < b.min {
			setMin = true
			v := value(avN(m.dur.MinMS))
			cond = append(cond, "(attribute_not_exists(d_min) OR d_min > "+v+")")
			set = append(set, "d_min = "+v)
		}
		if !b.has || m.dur.MaxMS > b.max {
			setMax = true
			v := value(avN(m.dur.MaxMS))
			cond = append(cond, "(attribute_not_exists(d_max) OR d_max < "+v+")")
			set = append(set, "d_max = "+v)
		}
	}
	// What the item is about, and when it changed.
	attrs := make([]string, 0, len(u.attrs))
	for a := range u.attrs {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		set = append(set, name(a)+" = "+value(avS(u.attrs[a])))
	}
	set = append(set, "updated_at = "+value(avN(s.now().UnixMilli())))
	if u.expires > 0 {
		set = append(set, name(resources.TTLAttribute)+" = "+value(avN(u.expires)))
	}
	for _, l := range []struct {
		prefix string
		last   *Last
	}{{"last_", m.last}, {"last_fail_", m.lastFail}} {
		if l.last == nil {
			continue
		}
		set = append(set,
			l.prefix+"id = "+value(avS(l.last.ExecutionID)),
			l.prefix+"status = "+value(avS(string(l.last.Status))),
			l.prefix+"at = "+value(avN(l.last.At.UnixMilli())),
			l.prefix+"error = "+value(avS(l.last.Error)))
	}
	expr := "SET " + strings.Join(set, ", ") + " ADD " + strings.Join(add, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	return &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(u.Key),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, setMin, setMax
}

func bucketAttr(b int) string {
	if b == zeroBucket {
		return "h_z"
	}
	return "h_" + strconv.Itoa(b)
}

func num(item map[string]types.AttributeValue, attr string) (int64, bool) {
	v, ok := item[attr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseInt(v.Value, 10, 64)
	return x, err == nil
}

func str(item map[string]types.AttributeValue, attr string) string {
	if v, ok := item[attr].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
