package aggregate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Stats are the aggregates of one item: executions by status now, the
type Stats = scaleouttype.Stats

// Filter selects the Stats of everything (zero Filter), a folder, a
type Filter = scaleouttype.StatsFilter

// ErrBadFilter is returned for a filter that names a project without its
// folder or a package without its project.
var ErrBadFilter = errors.New("bad stats filter")

// decodeStats reads a DynamoDB aggregate item (see doc.go for its
// attributes).
func decodeStats(av map[string]types.AttributeValue) Stats {
	it := item{attrs: map[string]string{}, counts: Counts{}}
	for _, a := range []string{"folder", "project", "package", "pool", "worker_id"} {
		if v := str(av, a); v != "" {
			it.attrs[a] = v
		}
	}
	for _, s := range execution.Statuses {
		it.counts[s], _ = num(av, "n_"+string(s))
	}
	it.dur.Count, _ = num(av, "d_count")
	it.dur.SumMS, _ = num(av, "d_sum")
	it.dur.MinMS, _ = num(av, "d_min")
	it.dur.MaxMS, _ = num(av, "d_max")
	it.dur.Buckets = map[int]int64{}
	for name := range av {
		if !strings.HasPrefix(name, "h_") {
			continue
		}
		b := zeroBucket
		if name != "h_z" {
			x, err := strconv.Atoi(name[2:])
			if err != nil {
				continue
			}
			b = x
		}
		it.dur.Buckets[b], _ = num(av, name)
	}
	for _, l := range []struct {
		prefix string
		to     **rankedLast
	}{{"last_", &it.last}, {"last_fail_", &it.lastFail}} {
		id := str(av, l.prefix+"id")
		if id == "" {
			continue
		}
		at, _ := num(av, l.prefix+"at")
		*l.to = &rankedLast{Last: Last{ExecutionID: id, Status: execution.Status(str(av, l.prefix+"status")), At: time.UnixMilli(at).UTC(), Error: str(av, l.prefix+"error")},
			order: str(av, l.prefix+"order")}
	}
	return it.stats()
}

func (s *Store) get(ctx context.Context, k Key) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(k), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Counts reads one package's counts, every status listed (zero when none).
func (s *Store) Counts(ctx context.Context, r Ref) (Counts, error) {
	item, err := s.get(ctx, pkgKey(s.scope, r))
	if err != nil {
		return nil, fmt.Errorf("read counts of %s: %w", r, err)
	}
	return decodeStats(item).Counts, nil
}

// Stats reads the aggregates f selects.
func (s *Store) Stats(ctx context.Context, f Filter) (Stats, error) {
	k, err := statsKey(s.scope, f)
	if err != nil {
		return Stats{}, err
	}
	item, err := s.get(ctx, k)
	if err != nil {
		return Stats{}, fmt.Errorf("read stats %+v: %w", f, err)
	}
	st := decodeStats(item)
	st.Folder, st.Project, st.Package = f.Folder, f.Project, f.Package
	return st, nil
}

// Workers reads the counts of the workers named, sorted by worker id; a
// worker that never ran an execution is left out. Each worker's item is a
// partition of its own (see doc.go), so the caller names them: the worker
// registry lists them.
func (s *Store) Workers(ctx context.Context, ids []string) ([]Stats, error) {
	out, err := s.getStats(ctx, workerKeys(s.scope, ids))
	sortWorkers(out)
	return out, err
}

// Pools reads the counts of the pools named, sorted by pool name; a pool
// that never had an execution is left out. Each pool's item is a partition
// of its own (see doc.go), so the caller names them: the API knows the
// pools it has queues for.
func (s *Store) Pools(ctx context.Context, pools []string) ([]Stats, error) {
	out, err := s.getStats(ctx, poolKeys(s.scope, pools))
	sortPools(out)
	return out, err
}

// getStats reads the items of keys that exist.
func (s *Store) getStats(ctx context.Context, keys []Key) ([]Stats, error) {
	var out []Stats
	err := s.batchGet(ctx, keys, func(it map[string]types.AttributeValue) { out = append(out, decodeStats(it)) })
	return out, err
}

// Bounds of batchGet.
const (
	batchGetMax     = 100 // keys per BatchGetItem, DynamoDB's limit
	batchGetRetries = 8   // calls per chunk while DynamoDB leaves keys unprocessed
)

// batchGet calls each with every item of keys that exists, in no
// particular order: BatchGetItem, 100 keys a call, the keys DynamoDB leaves
// unprocessed (throttling, the 16 MB limit) asked again after a backoff.
func (s *Store) batchGet(ctx context.Context, keys []Key, each func(map[string]types.AttributeValue)) error {
	seen := map[Key]bool{}
	for start := 0; start < len(keys); {
		var chunk []map[string]types.AttributeValue
		for ; start < len(keys) && len(chunk) < batchGetMax; start++ {
			if k := keys[start]; !seen[k] { // BatchGetItem refuses a key twice
				seen[k] = true
				chunk = append(chunk, key(k))
			}
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: chunk, ConsistentRead: aws.Bool(true)}}
		for try := 0; len(req) > 0 && len(req[s.table].Keys) > 0; try++ {
			if try == batchGetRetries {
				return fmt.Errorf("read %d aggregate items: DynamoDB left %d unprocessed after %d calls (throttled); retry later or raise the table's read capacity",
					len(keys), len(req[s.table].Keys), try)
			}
			if try > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(25<<try) * time.Millisecond):
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read %d aggregate items: %w", len(chunk), err)
			}
			for _, it := range out.Responses[s.table] {
				each(it)
			}
			req = out.UnprocessedKeys
		}
	}
	return nil
}

func (s *Store) query(ctx context.Context, pk string, each func(map[string]types.AttributeValue)) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("read aggregates %s: %w", pk, err)
		}
		for _, it := range out.Items {
			each(it)
		}
	}
	return nil
}

// any reports whether partition pk holds an item.
func (s *Store) any(ctx context.Context, pk string) (bool, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk)},
		ProjectionExpression:      aws.String("#pk"),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("read aggregates %s: %w", pk, err)
	}
	return len(out.Items) > 0, nil
}

// parallel runs read for 0..n-1, up to dashboardConcurrency at once; the
// first error cancels the reads still to come and is returned (or the
// caller's context's error).
func parallel(ctx context.Context, n int, read func(ctx context.Context, i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, dashboardConcurrency)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range n {
		sem <- struct{}{}
		if ctx.Err() != nil { // a read failed: start no more
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := read(ctx, i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's
	}
	return firstErr
}

// Dashboard is the SSIS Integration Services Dashboard: what ended since a
type Dashboard = scaleouttype.Dashboard

// PackageFigures are one package's executions that ended in the window.
type PackageFigures = scaleouttype.PackageFigures

// HourFigures are the executions that ended in one hour.
type HourFigures = scaleouttype.HourFigures

// dashboardConcurrency bounds the Queries of a Dashboard in flight.
const dashboardConcurrency = 32

// Dashboard reads the dashboard figures from since (rounded up to the
// hour: the figures are kept per hour, and rounding up means nothing that
// ended before since is counted, so "the last 24 h" never shows an
// execution 24h56m old) until now. It first asks which partitions of each
// day's buckets hold anything (BucketShards Queries of one item per day),
// then reads the hourly partitions of those only: the record that writes a
// package's hour bucket writes its day bucket in the same shard, which
// outlives it. A window of quiet days, or of few packages, costs a small
// part of reading every hour's BucketShards partitions; a busy one a day's
// partitions more. One GetItem reads what runs now. Up to
// dashboardConcurrency Queries are in flight at once.
func (s *Store) Dashboard(ctx context.Context, since time.Time) (Dashboard, error) {
	now := s.now().UTC()
	d, hours := dashboardWindow(since, now)
	const day = 24 * time.Hour
	firstDay := d.Since.Truncate(day)
	dayOf := func(t time.Time) int { return int(t.Sub(firstDay) / day) }
	used := make([]bool, (dayOf(now)+1)*BucketShards)
	err := parallel(ctx, len(used), func(ctx context.Context, i int) error {
		var err error
		used[i], err = s.any(ctx, dayPK(s.scope, firstDay.Add(time.Duration(i/BucketShards)*day), i%BucketShards))
		return err
	})
	if err != nil {
		return d, err
	}
	// Every used partition of every hour, read in parallel; folded in
	// order below, so that the figures do not depend on which read ended
	// first.
	parts := make([][]Stats, len(hours)*BucketShards)
	err = parallel(ctx, len(parts), func(ctx context.Context, i int) error {
		h, shard := hours[i/BucketShards], i%BucketShards
		if !used[dayOf(h)*BucketShards+shard] {
			return nil
		}
		return s.query(ctx, hourPK(s.scope, h, shard), func(it map[string]types.AttributeValue) {
			parts[i] = append(parts[i], decodeStats(it))
		})
	})
	if err != nil {
		return d, err
	}
	all, err := s.Stats(ctx, Filter{})
	if err != nil {
		return d, err
	}
	foldDashboard(&d, hours, parts, all)
	return d, nil
}
