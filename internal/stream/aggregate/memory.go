package aggregate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Memory keeps the aggregates in memory: a Writer and Reader for tests and
// for whatever runs without DynamoDB. It takes the Updates Plan makes as
// Store does, item by item under the same keys (the scope included): the
// same per-shard watermarks and dedup window, so a redelivered record is
// left out just the same; the same rule for the last execution and the
// last failure (the latest wins); and it answers the same reads from the
// same items. Bucket items go when their retention is over (DynamoDB's TTL
// removes them some time after). Memory is safe for concurrent use: one
// lock holds each Apply and each read.
type Memory struct {
	options

	mu    sync.Mutex
	items map[Key]*memItem
	// parts are the items by partition key, then sort key: what a Query
	// of a partition reads.
	parts map[string]map[string]*memItem
	// nextExpiry is the earliest expiry of a bucket held, in unix s (0:
	// none).
	nextExpiry int64
}

// memItem is an aggregate item with its dedup state.
type memItem struct {
	item
	// wm are the watermarks: per hour of the records, per shard, the last
	// sequence number applied.
	wm map[int64]map[string]string
	// expires is when a bucket goes, in unix s (0: never).
	expires int64
}

// NewMemory returns an empty Memory. WithScope, WithClock, WithRetention
// and WithDedupWindow mean what they mean to a Store.
func NewMemory(opts ...Option) *Memory {
	return &Memory{options: newOptions(opts), items: map[Key]*memItem{}, parts: map[string]map[string]*memItem{}}
}

// Plan plans a batch from the stream shard named shard for the store's
// items (its scope, its buckets' retention): see the function Plan.
func (s *Memory) Plan(shard string, records []events.DynamoDBEventRecord) ([]*Update, error) {
	return Plan(s.scope, shard, records, s.retention)
}

// Apply adds one Update to its item, leaving out the records at or below
// the item's watermark for their shard and hour, so Apply may be repeated.
func (s *Memory) Apply(ctx context.Context, u *Update) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update aggregate %s %s: %w", u.Key.PK, u.Key.SK, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	it := s.items[u.Key]
	applied := map[int64]string{}
	if it != nil {
		for h, shards := range it.wm {
			if seq, ok := shards[u.shard]; ok {
				applied[h] = seq
			}
		}
	}
	m := u.merge(applied)
	if m.n == 0 {
		return nil
	}
	if it == nil {
		it = &memItem{wm: map[int64]map[string]string{}}
		s.items[u.Key] = it
		if s.parts[u.Key.PK] == nil {
			s.parts[u.Key.PK] = map[string]*memItem{}
		}
		s.parts[u.Key.PK][u.Key.SK] = it
	}
	it.take(u, m)
	for h, r := range m.seqs {
		if it.wm[h] == nil {
			it.wm[h] = map[string]string{}
		}
		it.wm[h][u.shard] = r[1]
	}
	for _, h := range m.staleHours(s.dedupWindow) {
		delete(it.wm, h)
	}
	if u.expires > 0 {
		it.expires = u.expires
		if s.nextExpiry == 0 || u.expires < s.nextExpiry {
			s.nextExpiry = u.expires
		}
	}
	return nil
}

// expireLocked removes the buckets whose retention is over.
func (s *Memory) expireLocked() {
	now := s.now().Unix()
	if s.nextExpiry == 0 || now < s.nextExpiry {
		return
	}
	s.nextExpiry = 0
	for k, it := range s.items {
		switch {
		case it.expires == 0:
		case it.expires <= now:
			delete(s.items, k)
			delete(s.parts[k.PK], k.SK)
			if len(s.parts[k.PK]) == 0 {
				delete(s.parts, k.PK)
			}
		case s.nextExpiry == 0 || it.expires < s.nextExpiry:
			s.nextExpiry = it.expires
		}
	}
}

// read runs f on the items under the lock, after a read's checks.
func (s *Memory) read(ctx context.Context, what string, f func()) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	f()
	return nil
}

// statsLocked reads item k; a missing item reads as zero.
func (s *Memory) statsLocked(k Key) Stats {
	if it := s.items[k]; it != nil {
		return it.stats()
	}
	return item{}.stats()
}

// Counts reads one package's counts, every status listed (zero when none).
func (s *Memory) Counts(ctx context.Context, r Ref) (Counts, error) {
	var c Counts
	err := s.read(ctx, "counts of "+r.String(), func() { c = s.statsLocked(pkgKey(s.scope, r)).Counts })
	return c, err
}

// Stats reads the aggregates f selects.
func (s *Memory) Stats(ctx context.Context, f Filter) (Stats, error) {
	k, err := statsKey(s.scope, f)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	err = s.read(ctx, fmt.Sprintf("stats %+v", f), func() { st = s.statsLocked(k) })
	st.Folder, st.Project, st.Package = f.Folder, f.Project, f.Package
	return st, err
}

// Pools reads the aggregates of the pools named, sorted by pool name; a
// pool that never had an execution is left out.
func (s *Memory) Pools(ctx context.Context, pools []string) ([]Stats, error) {
	out, err := s.existing(ctx, "pools", poolKeys(s.scope, pools))
	sortPools(out)
	return out, err
}

// Workers reads the aggregates of the workers named, sorted by worker id;
// a worker that never ran an execution is left out.
func (s *Memory) Workers(ctx context.Context, ids []string) ([]Stats, error) {
	out, err := s.existing(ctx, "workers", workerKeys(s.scope, ids))
	sortWorkers(out)
	return out, err
}

// existing reads the items of keys that are there.
func (s *Memory) existing(ctx context.Context, what string, keys []Key) ([]Stats, error) {
	var out []Stats
	err := s.read(ctx, what, func() {
		for _, k := range keys {
			if it := s.items[k]; it != nil {
				out = append(out, it.stats())
			}
		}
	})
	return out, err
}

// Dashboard reads the dashboard figures from since (rounded up to the
// hour) until now, from the hourly buckets, as Store does.
func (s *Memory) Dashboard(ctx context.Context, since time.Time) (Dashboard, error) {
	d, hours := dashboardWindow(since, s.now())
	parts := make([][]Stats, len(hours)*BucketShards)
	var all Stats
	err := s.read(ctx, "dashboard", func() {
		for i := range parts {
			part := s.parts[hourPK(s.scope, hours[i/BucketShards], i%BucketShards)]
			for _, sk := range slices.Sorted(maps.Keys(part)) { // as a Query returns them
				parts[i] = append(parts[i], part[sk].stats())
			}
		}
		all = s.statsLocked(allKey(s.scope))
	})
	if err != nil {
		return d, err
	}
	foldDashboard(&d, hours, parts, all)
	return d, nil
}
