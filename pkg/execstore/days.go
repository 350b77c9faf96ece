package execstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/pkg/resources"
)

// Which days have executions, so that a listing by day visits only those:
// by_day has a partition per day and shard, and an empty day costs a query
// per shard to find empty. In the catalog table:
//
//	pk "EXECUTION_DAYS#<shard>"  sk "2026-11-25"  a day marker; expires_at: the day's end + Retention + a day
//	pk "EXECUTION_DAYS"          sk "SINCE"       day: the earliest day marked; older: executions made
//	                                              before any marker may exist (the table had some then)
//
// A store writes a day's marker before the first execution it creates on
// that day (UTC, by the execution's created time) and remembers it: one
// PutItem per process and day, not per execution, in the shard of that
// first execution's id, so that the processes that cross midnight
// together (the API's Lambda instances) spread over dayShards keys. So
// every day with an execution created since SINCE has a marker, in one
// shard or more. The first store to write SINCE looks (a Scan of one item)
// whether the table already holds executions, made by a version that wrote
// no markers: then SINCE says older, and a listing visits every day before
// SINCE that is not past Retention (at most Retention's days, for
// Retention after the upgrade). An API of the earlier version that still
// makes executions after SINCE exists makes them invisible to the listings
// by day on days no other API instance marked: replace it within the day.
const (
	dayMarkerPrefix = resources.CatalogExecutionDays
	daySinceSK      = resources.CatalogExecutionDaysSK
	// dayShards spreads one day's markers: at midnight every API instance
	// writes the new day's marker.
	dayShards = 16
)

// dayMarks is what a store knows of the day markers.
type dayMarks struct {
	mu sync.Mutex
	// marked holds the days this store wrote a marker for.
	marked map[string]bool
	// since is SINCE's day as this store last knew it ("": not read).
	since string
}

// sinceItem is the SINCE item.
type sinceItem struct {
	Day   string // "": no SINCE item
	Older bool
}

func dayString(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func dayMarkerKey(shard int, day string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		resources.CatalogPK: str(resources.ShardKey(dayMarkerPrefix, shard)), resources.CatalogSK: str(day),
	}
}

func daySinceKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.CatalogPK: str(dayMarkerPrefix), resources.CatalogSK: str(daySinceSK)}
}

func decodeSince(item map[string]types.AttributeValue) sinceItem {
	var out sinceItem
	if v, ok := item["day"].(*types.AttributeValueMemberS); ok {
		out.Day = v.Value
	}
	if v, ok := item["older"].(*types.AttributeValueMemberBOOL); ok {
		out.Older = v.Value
	}
	return out
}

func (s *Store) readSince(ctx context.Context) (sinceItem, error) {
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.catalog), Key: daySinceKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return sinceItem{}, fmt.Errorf("read the earliest day with executions: %w", err)
	}
	return decodeSince(got.Item), nil
}

// anyExecution reports whether the executions table holds an execution:
// a Scan that reads one item.
func (s *Store) anyExecution(ctx context.Context) (bool, error) {
	out, err := s.db.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(s.table), Limit: aws.Int32(1),
		ProjectionExpression: aws.String("#id"), ExpressionAttributeNames: map[string]string{"#id": resources.ExecutionKey},
	})
	if err != nil {
		return false, fmt.Errorf("look for executions: %w", err)
	}
	return len(out.Items) > 0, nil
}

// markDay makes sure the day of created has a marker and SINCE is not
// after it, before execution id (created then) is written.
func (s *Store) markDay(ctx context.Context, created time.Time, id string) error {
	day := dayString(created)
	s.marks.mu.Lock()
	done, since := s.marks.marked[day], s.marks.since
	s.marks.mu.Unlock()
	if done {
		return nil
	}
	item := dayMarkerKey(resources.Shard(id, dayShards), day)
	if s.Retention > 0 {
		end := created.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		item[resources.TTLAttribute] = num(end.Add(s.Retention + 24*time.Hour).Unix())
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.catalog), Item: item}); err != nil {
		return fmt.Errorf("mark day %s: %w", day, err)
	}
	if since == "" {
		got, err := s.readSince(ctx)
		if err != nil {
			return err
		}
		since = got.Day
	}
	if since == "" || day < since {
		var err error
		if since, err = s.moveSince(ctx, day, since == ""); err != nil {
			return err
		}
	}
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	if len(s.marks.marked) >= 64 {
		clear(s.marks.marked) // only days long past (or a test's clock) pile up
	}
	if s.marks.marked == nil {
		s.marks.marked = map[string]bool{}
	}
	s.marks.marked[day] = true
	s.marks.since = since
	return nil
}

// moveSince sets SINCE's day to day unless it is already at or before it,
// and returns SINCE's day as it then is. first says SINCE was not there:
// then whether the table holds executions is looked at, for older (kept
// if SINCE is there by then).
func (s *Store) moveSince(ctx context.Context, day string, first bool) (string, error) {
	older := false
	if first {
		var err error
		if older, err = s.anyExecution(ctx); err != nil {
			return "", err
		}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.catalog),
		Key:                      daySinceKey(),
		UpdateExpression:         aws.String("SET #day = :day, #older = if_not_exists(#older, :older)"),
		ConditionExpression:      aws.String("attribute_not_exists(#day) OR #day > :day"),
		ExpressionAttributeNames: map[string]string{"#day": "day", "#older": "older"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":day": str(day), ":older": &types.AttributeValueMemberBOOL{Value: older},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if since := decodeSince(ccf.Item).Day; since != "" {
			return since, nil // at or before day already
		}
		return "", fmt.Errorf("record the earliest day with executions: the condition failed on %v", ccf.Item)
	}
	if err != nil {
		return "", fmt.Errorf("record the earliest day with executions: %w", err)
	}
	return day, nil
}

// listDays returns the days from last back to first (UTC days, newest
// first) that can hold executions: those with a marker, and, where SINCE
// says older (or is not there, and the table holds executions), those
// before SINCE not past Retention at now. One round of dayShards queries
// and a GetItem, in parallel (and a Scan of one item without SINCE).
func (s *Store) listDays(ctx context.Context, first, last, now time.Time) ([]time.Time, error) {
	first, last = first.UTC().Truncate(24*time.Hour), last.UTC().Truncate(24*time.Hour)
	lo, hi := dayString(first), dayString(last)
	var (
		mu     sync.Mutex
		marked = map[string]bool{}
		since  sinceItem
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelQueries)
	g.Go(func() error {
		var err error
		since, err = s.readSince(gctx)
		return err
	})
	for shard := range dayShards {
		g.Go(func() error {
			p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
				TableName:                aws.String(s.catalog),
				KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
				ProjectionExpression:     aws.String("#sk"),
				ConsistentRead:           aws.Bool(true), // a marker is written before its day's first execution
				ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":pk": str(resources.ShardKey(dayMarkerPrefix, shard)), ":lo": str(lo), ":hi": str(hi),
				},
			})
			for p.HasMorePages() {
				out, err := p.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("read the days with executions: %w", err)
				}
				mu.Lock()
				for _, it := range out.Items {
					if v, ok := it[resources.CatalogSK].(*types.AttributeValueMemberS); ok {
						marked[v.Value] = true
					}
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	older := since.Older
	if since.Day == "" {
		// No execution was made with markers yet: any there are older.
		var err error
		if older, err = s.anyExecution(ctx); err != nil {
			return nil, err
		}
	}
	if older && (since.Day == "" || lo < since.Day) {
		from, to := first, last
		if s.Retention > 0 {
			if floor := now.Add(-s.Retention).UTC().Truncate(24 * time.Hour); floor.After(from) {
				from = floor
			}
		}
		if d, err := time.Parse(time.DateOnly, since.Day); err == nil && !d.After(to) {
			to = d.AddDate(0, 0, -1)
		}
		for d := to; !d.Before(from); d = d.AddDate(0, 0, -1) {
			marked[dayString(d)] = true
		}
	}
	keys := slices.Sorted(maps.Keys(marked))
	days := make([]time.Time, 0, len(keys))
	for _, k := range slices.Backward(keys) {
		d, err := time.Parse(time.DateOnly, k)
		if err != nil {
			return nil, fmt.Errorf("read the days with executions: a marker for %q, not a day", k)
		}
		days = append(days, d)
	}
	return days, nil
}
