package aggregate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// maxConflicts bounds the writes of one Update while the item keeps
// changing under it.
const maxConflicts = 10

// Store reads and writes the aggregates in the catalog table.
type Store struct {
	options
	db    *dynamodb.Client
	table string

	mu     sync.Mutex
	bounds map[Key]bounds // the last d_min/d_max seen per item
	// marks are, per item, the hours whose watermark map (w_<hour>) the
	// store knows to be there (true) or not (false).
	marks map[Key]map[int64]bool

	writes atomic.Int64
}

// bounds is what the store last saw of an item's d_min and d_max. Both only
// ever move outwards, so a batch whose durations lie within them has
// nothing to write there.
type bounds struct {
	has      bool
	min, max int64
}

// NewStore returns a store on the catalog table.
func NewStore(db *dynamodb.Client, table string, opts ...Option) *Store {
	return &Store{options: newOptions(opts), db: db, table: table, bounds: map[Key]bounds{}, marks: map[Key]map[int64]bool{}}
}

// Plan plans a batch from the stream shard named shard for the store's
// items (its scope, its buckets' retention): see the function Plan.
func (s *Store) Plan(shard string, records []events.DynamoDBEventRecord) ([]*Update, error) {
	return Plan(s.scope, shard, records, s.retention)
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

// wmAttr names the map of an item's watermarks for records of one hour.
func wmAttr(hour int64) string { return "w_" + strconv.FormatInt(hour, 10) }

// errNoShard is Plan's and Handle's error for an event without a shard.
var errNoShard = errors.New("the stream event names no shard (shardId): the event source mapping needs a tumbling window " +
	"(TumblingWindowInSeconds), which makes Lambda pass the shard id; without it the aggregates cannot tell a redelivery from a new record")

// shardTag is the short name of a shard in watermark maps.
func shardTag(shard string) string {
	h := fnv.New64a()
	h.Write([]byte(shard))
	return strconv.FormatUint(h.Sum64(), 36)
}

// Apply writes one Update: one conditional UpdateItem (more only when the
// condition fails: part of it was applied by an earlier delivery, the
// item's min/max moved, or the hour's watermark map was not there yet).
// Records at or below the item's watermark for their shard and hour are
// left out, so Apply may be repeated.
func (s *Store) Apply(ctx context.Context, u *Update) error {
	if err := s.apply(ctx, u); err != nil {
		return fmt.Errorf("update aggregate %s %s: %w", u.Key.PK, u.Key.SK, err)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, u *Update) error {
	applied := map[int64]string{}     // hour → the item's watermark for u.shard
	var itemLast, itemLastFail string // the item's last_order, last_fail_order, once seen
	for range maxConflicts {
		m := u.merge(applied)
		if m.n == 0 {
			return nil
		}
		// A last older than the item's stays out (another shard wrote a
		// later one).
		if m.last != nil && m.last.order <= itemLast {
			m.last = nil
		}
		if m.lastFail != nil && m.lastFail.order <= itemLastFail {
			m.lastFail = nil
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
			for h := range m.seqs {
				s.markLocked(u.Key, h, true)
			}
			s.mu.Unlock()
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return err
		}
		// Learn from the item as it is: its watermarks for this shard and
		// its bounds; then write what is left.
		b := bounds{}
		if v, ok := num(ccf.Item, "d_min"); ok {
			b.has, b.min = true, v
			b.max, _ = num(ccf.Item, "d_max")
		}
		itemLast, itemLastFail = str(ccf.Item, "last_order"), str(ccf.Item, "last_fail_order")
		s.mu.Lock()
		s.bounds[u.Key] = b
		for h := range m.seqs {
			wm, ok := ccf.Item[wmAttr(h)].(*types.AttributeValueMemberM)
			s.markLocked(u.Key, h, ok)
			if !ok {
				continue
			}
			if v, ok := wm.Value[u.shard].(*types.AttributeValueMemberS); ok {
				applied[h] = v.Value
			}
		}
		s.mu.Unlock()
	}
	return ErrConflict
}

// markLocked records whether item k has the watermark map of hour h.
func (s *Store) markLocked(k Key, h int64, there bool) {
	if s.marks[k] == nil {
		s.marks[k] = map[int64]bool{}
	}
	s.marks[k][h] = there
}

// input builds the UpdateItem of merged contributions m:
//
//	condition: for every hour h of the records, (attribute_not_exists(w_h.<shard>)
//	           OR w_h.<shard> < :first_h), or attribute_not_exists(w_h) when the
//	           map is not there yet
//	           [AND (attribute_not_exists(d_min) OR d_min > :dmin)] [same for d_max]
//	           [AND (attribute_not_exists(last_order) OR last_order < :o)] [same for last_fail_order]
//	update:    ADD n_<status> :c, d_count, d_sum, h_<bucket>
//	           SET w_h.<shard> = :last_h (or w_h = {<shard>: :last_h}), names,
//	               updated_at, last_*, last_fail_*, expires_at, [d_min, d_max]
//	           REMOVE w_<hour> maps older than the dedup window
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
	// Dedup: every record is above the shard's watermark of its hour;
	// the watermark moves to the last one.
	s.mu.Lock()
	marks := maps.Clone(s.marks[u.Key]) // markLocked writes the map under the lock
	s.mu.Unlock()
	for _, h := range slices.Sorted(maps.Keys(m.seqs)) {
		w, r := name(wmAttr(h)), m.seqs[h]
		if marks[h] {
			tag := name(u.shard)
			cond = append(cond, "(attribute_not_exists("+w+"."+tag+") OR "+w+"."+tag+" < "+value(avS(r[0]))+")")
			set = append(set, w+"."+tag+" = "+value(avS(r[1])))
			continue
		}
		// The hour's first write to the item (as far as this store
		// knows): create the map; if it is there, the write fails and the
		// next one sets the shard's entry in it.
		cond = append(cond, "attribute_not_exists("+w+")")
		set = append(set, w+" = "+value(&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{u.shard: avS(r[1])}}))
	}
	for _, h := range m.staleHours(s.dedupWindow) {
		remove = append(remove, wmAttr(h))
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
		last   *rankedLast
	}{{"last_", m.last}, {"last_fail_", m.lastFail}} {
		if l.last == nil {
			continue
		}
		// Only a later one replaces what the item has.
		o := value(avS(l.last.order))
		cond = append(cond, "(attribute_not_exists("+l.prefix+"order) OR "+l.prefix+"order < "+o+")")
		set = append(set,
			l.prefix+"order = "+o,
			l.prefix+"id = "+value(avS(l.last.ExecutionID)),
			l.prefix+"status = "+value(avS(string(l.last.Status))),
			l.prefix+"at = "+value(avN(l.last.At.UnixMilli())),
			l.prefix+"error = "+value(avS(l.last.Error)))
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(add) > 0 {
		expr += " ADD " + strings.Join(add, ", ")
	}
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
