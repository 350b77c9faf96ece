package execstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Filter selects executions to list. Empty fields match everything.
type Filter = scaleouttype.ExecutionFilter

// Page is one page of executions, newest first.
type Page = scaleouttype.ExecutionPage

// ErrBadCursor is returned for a cursor List did not make for this filter.
var ErrBadCursor = scaleouttype.ErrBadCursor

// listRounds bounds the rounds of index queries (one query per shard each)
// of one List call; a page that needs more ends early, with a cursor. A
// listing by day takes a round to read which days have executions (see
// listDays), then at least a round for each such day.
const listRounds = 40

// msBound is the bound that keeps every created_key of millisecond ms and
// before.
func msBound(ms int64) string { return execution.MSBound(ms) }

// dayOf is the UTC day of a bound's millisecond.
func dayOf(bound string) time.Time {
	ms, _ := strconv.ParseInt(bound[:13], 10, 64)
	return time.UnixMilli(ms).UTC().Truncate(24 * time.Hour)
}

// List returns executions matching f, newest first, using the most
// selective index: by package, by folder, by status (for a status that is
// not final), else by day. Each index is sharded (package resources): List
// queries every shard of the key and merges them by created_key, then reads
// the executions themselves from the table (BatchGetItem, without the
// definition and the task summaries) and applies the filters the index
// cannot (project, status), reading on until the page is full or it made
// listRounds rounds of queries. By day, it visits only the days that have
// executions (listDays), however wide the window.
func (s *Store) List(ctx context.Context, f Filter, now time.Time) (Page, error) {
	fp := execution.Fingerprint(f) // of the filter as given, before the defaults
	f = execution.WithListDefaults(f, now)
	var from execution.ListCursor
	if f.Cursor != "" {
		var err error
		if from, err = execution.DecodeListCursor(f.Cursor, fp); err != nil {
			return Page{}, err
		}
	}
	bound := from.Key
	index, pkValue, shards := "", "", resources.ListShards
	clientFilter := f.Project != "" || f.Status != ""
	switch {
	case f.Package != "":
		index, pkValue = resources.ByPackage, f.Folder+"/"+f.Project+"/"+f.Package
		clientFilter = f.Status != ""
	case f.Folder != "":
		index, pkValue = resources.ByFolder, f.Folder
	case f.Status != "" && !f.Status.Final():
		index, pkValue, shards = resources.ByStatus, resources.ActiveKey, resources.StatusShards
	default: // execution.ByDay(f): WithListDefaults bounded it
		index = resources.ByDay
	}
	lo, hi := "0", "~"
	if !f.Since.IsZero() {
		lo = execution.MSKey(f.Since.UnixMilli())
	}
	if index == resources.ByDay && from.Lo != "" {
		lo = from.Lo
	}
	if !f.Until.IsZero() {
		hi = msBound(f.Until.UnixMilli())
	}
	if bound != "" && bound < hi {
		hi = bound
	}
	page := Page{Executions: []execution.Execution{}}
	if hi <= lo {
		return page, nil
	}
	next := execution.ListCursor{Filter: fp}
	rounds := 0
	var days []time.Time // by day: the days left to visit, newest first
	if index == resources.ByDay {
		next.Lo = lo
		var err error
		if days, err = s.listDays(ctx, dayOf(lo), dayOf(hi), now); err != nil {
			return Page{}, fmt.Errorf("list executions: %w", err)
		}
		if len(days) == 0 {
			return page, nil
		}
		rounds++
	}
	for {
		if index == resources.ByDay {
			// Nothing between hi and this day's end: start at its end.
			hi = min(hi, msBound(days[0].AddDate(0, 0, 1).UnixMilli()-1))
			pkValue = days[0].Format(time.DateOnly)
		}
		batch := f.Limit - len(page.Executions)
		if clientFilter {
			batch = max(batch, min(f.Limit, 25))
		}
		m := newMerger(s.db, dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			IndexName:                aws.String(index),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
			ProjectionExpression:     aws.String("#id, #sk"),
			ExpressionAttributeNames: map[string]string{"#pk": pkName(index), "#sk": resources.CreatedKey, "#id": resources.ExecutionKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":lo": str(lo), ":hi": str(hi),
			},
			Limit: aws.Int32(int32(min(1000, 2*(batch+shards-1)/shards+8))),
		}, shardKeys(pkValue, shards), true)
		m.below = hi
		done, spent := false, false
		for !done && !spent && len(page.Executions) < f.Limit {
			var ids, keys []string
			for len(ids) < batch {
				it, ok, err := m.next(ctx, listRounds-rounds)
				if errors.Is(err, errBudget) {
					spent = true
					break
				}
				if err != nil {
					return Page{}, fmt.Errorf("list executions: %w", err)
				}
				if !ok {
					done = true
					break
				}
				id, _ := it[resources.ExecutionKey].(*types.AttributeValueMemberS)
				if id == nil {
					return Page{}, fmt.Errorf("list executions: index %s returned an item without %s", index, resources.ExecutionKey)
				}
				ids, keys = append(ids, id.Value), append(keys, sortKey(it))
			}
			items, err := s.getListed(ctx, ids)
			if err != nil {
				return Page{}, err
			}
			for i, id := range ids {
				hi = keys[i] // looked at: the next page starts below it
				av, ok := items[id]
				if !ok {
					continue // deleted (TTL) since the index was read
				}
				e, err := Decode(av)
				if err != nil {
					return Page{}, err
				}
				if !execution.Matches(f, e) {
					continue
				}
				page.Executions = append(page.Executions, e)
				if len(page.Executions) == f.Limit {
					break
				}
			}
		}
		rounds += m.rounds
		switch {
		case len(page.Executions) == f.Limit || spent:
			next.Key = hi
			page.Next = next.Encode()
			return page, nil
		case index != resources.ByDay:
			return page, nil
		}
		// This day is done: go on with the next one that has executions.
		if days = days[1:]; len(days) == 0 {
			return page, nil
		}
		hi = min(hi, msBound(days[0].AddDate(0, 0, 1).UnixMilli()-1))
		if rounds >= listRounds {
			next.Key = hi
			page.Next = next.Encode()
			return page, nil
		}
	}
}

func pkName(index string) string {
	switch index {
	case resources.ByPackage:
		return resources.PackageKey
	case resources.ByFolder:
		return resources.FolderKey
	case resources.ByStatus:
		return resources.StatusKey
	default:
		return resources.DayKey
	}
}

// listedAttributes are the attributes a listing reads: all but the
// definition, the task summaries and the index keys.
var listedAttributes = sync.OnceValue(func() []string {
	skip := map[string]bool{
		"definition": true, "tasks": true, resources.PackageKey: true, resources.FolderKey: true,
		resources.DayKey: true, resources.StatusKey: true, resources.CreatedKey: true,
	}
	var out []string
	t := reflect.TypeFor[item]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("dynamodbav"), ",")
		if name != "" && name != "-" && !skip[name] {
			out = append(out, name)
		}
	}
	return out
})

// getListed reads the listed attributes of the executions ids (at most 100
// per BatchGetItem, several at once), by id; an id with no item is left out.
func (s *Store) getListed(ctx context.Context, ids []string) (map[string]map[string]types.AttributeValue, error) {
	out := map[string]map[string]types.AttributeValue{}
	if len(ids) == 0 {
		return out, nil
	}
	names := map[string]string{}
	var proj []string
	for i, a := range listedAttributes() {
		p := "#a" + strconv.Itoa(i)
		names[p] = a
		proj = append(proj, p)
	}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelQueries)
	for start := 0; start < len(ids); start += 100 {
		chunk := ids[start:min(start+100, len(ids))]
		g.Go(func() error {
			keys := make([]map[string]types.AttributeValue, 0, len(chunk))
			for _, id := range chunk {
				keys = append(keys, key(id))
			}
			req := map[string]types.KeysAndAttributes{s.table: {
				Keys: keys, ProjectionExpression: aws.String(strings.Join(proj, ", ")), ExpressionAttributeNames: names,
			}}
			for attempt := 0; len(req) > 0; attempt++ {
				if attempt == 8 {
					return fmt.Errorf("list executions: the table kept %d keys unprocessed; try again", len(req[s.table].Keys))
				}
				if attempt > 0 {
					// Throttled: back off a little before the rest.
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
					}
				}
				res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
				if err != nil {
					return fmt.Errorf("list executions: read items: %w", err)
				}
				mu.Lock()
				for _, av := range res.Responses[s.table] {
					if id, ok := av[resources.ExecutionKey].(*types.AttributeValueMemberS); ok {
						out[id.Value] = av
					}
				}
				mu.Unlock()
				req = res.UnprocessedKeys
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
