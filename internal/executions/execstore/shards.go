package execstore

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/internal/aws/resources"
)

// parallelQueries bounds the queries one listing runs at once.
const parallelQueries = 8

// errBudget stops a merge that would need more query rounds than allowed.
var errBudget = errors.New("query budget spent")

// merger reads the shards of one index (one query per partition key) and
// yields their items in one order by created_key: newest first (desc) or
// oldest first. Every shard is read in pages of its query's Limit; a shard
// whose page is used up is read again (all such shards at once) only when
// the merge needs its next item.
type merger struct {
	db      *dynamodb.Client
	desc    bool
	streams []*shardStream
	// below drops items whose created_key is not below it ("" keeps all):
	// the key conditions are inclusive, a cursor is exclusive.
	below string
	// rounds counts the rounds of queries made.
	rounds int
}

type shardStream struct {
	in   dynamodb.QueryInput
	buf  []map[string]types.AttributeValue
	done bool
}

// newMerger queries one shard per partition key in pks; base is the query
// for all of them, with ":pk" standing for the key.
func newMerger(db *dynamodb.Client, base dynamodb.QueryInput, pks []string, desc bool) *merger {
	m := &merger{db: db, desc: desc}
	base.ScanIndexForward = aws.Bool(!desc)
	for _, pk := range pks {
		in := base
		in.ExpressionAttributeValues = maps.Clone(base.ExpressionAttributeValues)
		in.ExpressionAttributeValues[":pk"] = str(pk)
		m.streams = append(m.streams, &shardStream{in: in})
	}
	return m
}

func sortKey(it map[string]types.AttributeValue) string {
	v, _ := it[resources.CreatedKey].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

// fill reads the next page of every shard that has none left, in parallel.
func (m *merger) fill(ctx context.Context) error {
	var need []*shardStream
	for _, st := range m.streams {
		if len(st.buf) == 0 && !st.done {
			need = append(need, st)
		}
	}
	if len(need) == 0 {
		return nil
	}
	m.rounds++
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelQueries)
	for _, st := range need {
		g.Go(func() error {
			// A filter can leave a page empty: read on until an item or
			// the end of the shard.
			for len(st.buf) == 0 && !st.done {
				out, err := m.db.Query(ctx, &st.in)
				if err != nil {
					return fmt.Errorf("query index %s: %w", aws.ToString(st.in.IndexName), err)
				}
				for _, it := range out.Items {
					if m.below == "" || sortKey(it) < m.below {
						st.buf = append(st.buf, it)
					}
				}
				st.in.ExclusiveStartKey = out.LastEvaluatedKey
				st.done = len(out.LastEvaluatedKey) == 0
			}
			return nil
		})
	}
	return g.Wait()
}

// next returns the next item in order, or false when every shard is done.
// With maxRounds > 0 it returns errBudget rather than start round
// maxRounds+1.
func (m *merger) next(ctx context.Context, maxRounds int) (map[string]types.AttributeValue, bool, error) {
	for _, st := range m.streams {
		if len(st.buf) == 0 && !st.done {
			if maxRounds > 0 && m.rounds >= maxRounds {
				return nil, false, errBudget
			}
			if err := m.fill(ctx); err != nil {
				return nil, false, err
			}
			break
		}
	}
	var best *shardStream
	bestKey := ""
	for _, st := range m.streams {
		if len(st.buf) == 0 {
			continue
		}
		k := sortKey(st.buf[0])
		if best == nil || (m.desc && k > bestKey) || (!m.desc && k < bestKey) {
			best, bestKey = st, k
		}
	}
	if best == nil {
		return nil, false, nil
	}
	it := best.buf[0]
	best.buf = best.buf[1:]
	return it, true, nil
}

// shardKeys lists the n sharded partition keys of value.
func shardKeys(value string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = resources.ShardKey(value, i)
	}
	return out
}
