package aggregate

import (
	"context"
	"errors"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/streamgen"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// expected are the aggregates recounted from the executions themselves:
// the last image of each execution, folded directly.
type expected struct {
	pkgs, projects, folders, pools, workers map[string]Counts
	all                                     Counts
	pkgDur                                  map[Ref]*Durations
	allDur                                  Durations
	hourly                                  map[time.Time]Counts
	pkgEnded                                map[Ref]Counts
	last, lastFail                          map[Ref]string
}

func recount(recs []events.DynamoDBEventRecord) expected {
	final := map[string]*image{}
	var order []string
	e := expected{
		pkgs: map[string]Counts{}, projects: map[string]Counts{}, folders: map[string]Counts{}, pools: map[string]Counts{},
		workers: map[string]Counts{}, all: Counts{}, pkgDur: map[Ref]*Durations{}, hourly: map[time.Time]Counts{},
		pkgEnded: map[Ref]Counts{}, last: map[Ref]string{}, lastFail: map[Ref]string{},
	}
	lastRank, failRank := map[Ref]string{}, map[Ref]string{}
	for _, r := range recs {
		id := r.Change.Keys["id"].String()
		if _, ok := final[id]; !ok {
			order = append(order, id)
		}
		old, im := readImage(r.Change.OldImage), readImage(r.Change.NewImage)
		final[id] = im
		if im != nil && (old == nil || old.status != im.status) {
			// The latest change by time, then by sequence number.
			seq, _ := padSeq(r.Change.SequenceNumber)
			rank := lastOrder(changedAt(im), seq)
			if rank > lastRank[im.ref] {
				lastRank[im.ref], e.last[im.ref] = rank, id
			}
			if im.status == execution.Failed && rank > failRank[im.ref] {
				failRank[im.ref], e.lastFail[im.ref] = rank, id
			}
		}
	}
	inc := func(m map[string]Counts, k string, s execution.Status) {
		if m[k] == nil {
			m[k] = Counts{}
		}
		m[k][s]++
	}
	for _, id := range order {
		im := final[id]
		if im == nil {
			continue
		}
		inc(e.pkgs, im.ref.String(), im.status)
		inc(e.projects, im.ref.Folder+"/"+im.ref.Project, im.status)
		inc(e.folders, im.ref.Folder, im.status)
		inc(e.pools, im.pool, im.status)
		if im.worker != "" {
			inc(e.workers, im.worker, im.status)
		}
		e.all[im.status]++
		if im.status.Final() {
			d := e.pkgDur[im.ref]
			if d == nil {
				d = &Durations{}
				e.pkgDur[im.ref] = d
			}
			d.Observe(im.endedAt - im.startedAt)
			e.allDur.Observe(im.endedAt - im.startedAt)
			h := time.UnixMilli(im.endedAt).UTC().Truncate(time.Hour)
			if e.hourly[h] == nil {
				e.hourly[h] = Counts{}
			}
			e.hourly[h][im.status]++
			if e.pkgEnded[im.ref] == nil {
				e.pkgEnded[im.ref] = Counts{}
			}
			e.pkgEnded[im.ref][im.status]++
		}
	}
	return e
}

func full(c Counts) Counts {
	out := Counts{}
	for _, s := range execution.Statuses {
		out[s] = c[s]
	}
	return out
}

func nonzero(c Counts) Counts {
	out := Counts{}
	for s, n := range c {
		if n != 0 {
			out[s] = n
		}
	}
	return out
}

func sameDurations(t *testing.T, want, got Durations, what string) {
	t.Helper()
	if want.Buckets == nil {
		want.Buckets = map[int]int64{}
	}
	require.Equal(t, want, got, what)
}

// check holds the store's aggregates against a recount.
func check(t *testing.T, ctx context.Context, st *Store, recs []events.DynamoDBEventRecord, since time.Time) {
	t.Helper()
	e := recount(recs)
	for ref := range e.last {
		c, err := st.Counts(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, full(e.pkgs[ref.String()]), c, "package %s", ref)
		s, err := st.Stats(ctx, Filter(ref))
		require.NoError(t, err)
		want := Durations{}
		if d := e.pkgDur[ref]; d != nil {
			want = *d
		}
		sameDurations(t, want, s.Durations, "durations of "+ref.String())
		require.NotNil(t, s.Last)
		require.Equal(t, e.last[ref], s.Last.ExecutionID, "last execution of %s", ref)
		if id, ok := e.lastFail[ref]; ok {
			require.NotNil(t, s.LastFailure, ref.String())
			require.Equal(t, id, s.LastFailure.ExecutionID, "last failure of %s", ref)
		} else {
			require.Nil(t, s.LastFailure)
		}
		s, err = st.Stats(ctx, Filter{Folder: ref.Folder, Project: ref.Project})
		require.NoError(t, err)
		require.Equal(t, full(e.projects[ref.Folder+"/"+ref.Project]), s.Counts)
		s, err = st.Stats(ctx, Filter{Folder: ref.Folder})
		require.NoError(t, err)
		require.Equal(t, full(e.folders[ref.Folder]), s.Counts)
	}
	all, err := st.Stats(ctx, Filter{})
	require.NoError(t, err)
	require.Equal(t, full(e.all), all.Counts)
	sameDurations(t, e.allDur, all.Durations, "durations of all")
	pools, err := st.Pools(ctx, slices.Collect(maps.Keys(e.pools)))
	require.NoError(t, err)
	require.Len(t, pools, len(e.pools))
	for _, p := range pools {
		require.Equal(t, full(e.pools[p.Pool]), p.Counts, "pool %s", p.Pool)
	}
	workers, err := st.Workers(ctx, slices.Collect(maps.Keys(e.workers)))
	require.NoError(t, err)
	require.Len(t, workers, len(e.workers))
	for _, w := range workers {
		require.Equal(t, full(e.workers[w.Worker]), w.Counts, "worker %s", w.Worker)
	}
	d, err := st.Dashboard(ctx, since)
	require.NoError(t, err)
	require.Equal(t, e.all[execution.Running], d.Running)
	require.Equal(t, e.all[execution.Pending], d.Pending)
	ended := Counts{}
	for _, c := range e.pkgEnded {
		for s, n := range c {
			ended[s] += n
		}
	}
	require.Equal(t, ended, nonzero(d.Counts))
	require.Equal(t, ended[execution.Failed], d.Failures)
	require.Len(t, d.Packages, len(e.pkgEnded))
	for _, p := range d.Packages {
		require.Equal(t, e.pkgEnded[p.PackageRef], nonzero(p.Counts), "dashboard %s", p.PackageRef)
		sameDurations(t, *e.pkgDur[p.PackageRef], p.Durations, "dashboard durations of "+p.PackageRef.String())
	}
	for _, h := range d.Hourly {
		want := e.hourly[h.Hour]
		if want == nil {
			want = Counts{}
		}
		require.Equal(t, want, nonzero(h.Counts), "hour %s", h.Hour)
	}
}

func keyHash(k Key) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k.PK + "\x00" + k.SK))
	return h.Sum64()
}

var errInjected = errors.New("injected write failure")

// TestReplayNeverDoubleCounts delivers the same generated stream as Lambda
// might: every batch twice, in bisected pieces, and with injected write
// failures whose failed tails are retried. The aggregates must equal a
// recount from the executions themselves every time.
func TestReplayNeverDoubleCounts(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	start := time.Now().UTC().Add(-3 * time.Hour)
	recs := streamgen.Generate(streamgen.Options{Seed: 42, Records: 400, Start: start})
	require.GreaterOrEqual(t, len(recs), 400)

	deliver := func(t *testing.T, h Handler, batch []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEventResponse {
		t.Helper()
		resp, err := h.Handle(context.Background(), shardEvent("shardId-0001", batch))
		require.NoError(t, err)
		require.NotNil(t, resp.State, "Lambda takes a response without state for a failure")
		return resp
	}
	// retryTail delivers batch and, like Lambda with
	// ReportBatchItemFailures, retries from the reported record on.
	retryTail := func(t *testing.T, h Handler, batch []events.DynamoDBEventRecord) {
		for range 50 {
			resp := deliver(t, h, batch)
			if len(resp.BatchItemFailures) == 0 {
				return
			}
			seq := resp.BatchItemFailures[0].ItemIdentifier
			i := 0
			for batch[i].Change.SequenceNumber != seq {
				i++
			}
			batch = batch[i:]
		}
		t.Fatal("batch never succeeded")
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h Handler, st *Store, r *rand.Rand)
	}{
		{"every batch twice", func(t *testing.T, h Handler, st *Store, r *rand.Rand) {
			for i := 0; i < len(recs); i += 100 {
				b := recs[i:min(i+100, len(recs))]
				require.Empty(t, deliver(t, h, b).BatchItemFailures)
				require.Empty(t, deliver(t, h, b).BatchItemFailures)
			}
		}},
		{"bisected pieces and redeliveries", func(t *testing.T, h Handler, st *Store, r *rand.Rand) {
			for i := 0; i < len(recs); i += 100 {
				b := recs[i:min(i+100, len(recs))]
				var pieces [][]events.DynamoDBEventRecord
				var bisect func(p []events.DynamoDBEventRecord, depth int)
				bisect = func(p []events.DynamoDBEventRecord, depth int) {
					if len(p) < 2 || depth > 3 || r.IntN(3) == 0 {
						pieces = append(pieces, p)
						return
					}
					m := 1 + r.IntN(len(p)-1)
					bisect(p[:m], depth+1)
					bisect(p[m:], depth+1)
				}
				bisect(b, 0)
				for j, p := range pieces {
					require.Empty(t, deliver(t, h, p).BatchItemFailures)
					if r.IntN(2) == 0 { // an earlier piece again
						require.Empty(t, deliver(t, h, pieces[r.IntN(j+1)]).BatchItemFailures)
					}
				}
				if r.IntN(2) == 0 { // and the whole batch again
					require.Empty(t, deliver(t, h, b).BatchItemFailures)
				}
			}
		}},
		{"two shards, interleaved, replayed", func(t *testing.T, h Handler, st *Store, r *rand.Rand) {
			// Each execution's records are in one shard, in order; the
			// shards' batches interleave, and each shard is replayed
			// from its start now and then (a lost checkpoint).
			shards := [2][]events.DynamoDBEventRecord{}
			for _, rec := range recs {
				id := rec.Change.NewImage["id"]
				if rec.Change.NewImage == nil {
					id = rec.Change.OldImage["id"]
				}
				f := fnv.New32a()
				f.Write([]byte(id.String()))
				shards[f.Sum32()%2] = append(shards[f.Sum32()%2], rec)
			}
			names := [2]string{"shardId-00001-a", "shardId-00001-b"}
			pos := [2]int{}
			for pos[0] < len(shards[0]) || pos[1] < len(shards[1]) {
				i := r.IntN(2)
				if pos[i] >= len(shards[i]) {
					i = 1 - i
				}
				n := 1 + r.IntN(60)
				b := shards[i][pos[i]:min(pos[i]+n, len(shards[i]))]
				resp, err := h.Handle(context.Background(), shardEvent(names[i], b))
				require.NoError(t, err)
				require.Empty(t, resp.BatchItemFailures)
				pos[i] += len(b)
				if r.IntN(8) == 0 {
					resp, err := h.Handle(context.Background(), shardEvent(names[i], shards[i][:pos[i]]))
					require.NoError(t, err)
					require.Empty(t, resp.BatchItemFailures)
				}
			}
		}},
		{"failed tails retried", func(t *testing.T, h Handler, st *Store, r *rand.Rand) {
			for i := 0; i < len(recs); i += 100 {
				b := recs[i:min(i+100, len(recs))]
				salt := r.Uint64()
				failures := 0
				st.fail = func(k Key) error {
					// About a quarter of the items fail, at most a few times.
					if (keyHash(k)^salt)%4 == 0 && failures < 3 {
						failures++
						return errInjected
					}
					return nil
				}
				retryTail(t, h, b)
				st.fail = nil
				// Then the batch is split by bisect-on-error and replayed.
				m := r.IntN(len(b))
				require.Empty(t, deliver(t, h, b[:m]).BatchItemFailures)
				require.Empty(t, deliver(t, h, b[m:]).BatchItemFailures)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("replay")+"#"))
			h := Handler{Store: st}
			tc.run(t, h, st, rand.New(rand.NewPCG(7, uint64(len(tc.name)))))
			check(t, context.Background(), st, recs, start.Truncate(time.Hour))
		})
	}
}

// shardEvent is a batch as Lambda delivers it from one shard with a
// tumbling window set.
func shardEvent(shard string, recs []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	var ev events.DynamoDBTimeWindowEvent
	ev.Records = recs
	ev.ShardID = shard
	return ev
}

// Writes per batch are no more than the aggregate items the batch touches.
func TestWritesPerBatch(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	recs := streamgen.Generate(streamgen.Options{Seed: 3, Records: 300, Start: time.Now().Add(-time.Hour)})
	st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("writes")+"#"))
	h := Handler{Store: st}
	for i := 0; i < len(recs); i += 100 {
		b := recs[i:min(i+100, len(recs))]
		ups, err := Plan(st.scope, "shardId-0001", b, st.retention)
		require.NoError(t, err)
		before := st.Writes()
		_, err = h.Handle(context.Background(), shardEvent("shardId-0001", b))
		require.NoError(t, err)
		// A cold store may need one more write per item whose duration
		// bounds it has not seen yet; a warm one needs none.
		require.LessOrEqual(t, st.Writes()-before, int64(2*len(ups)), "batch %d", i/100)
		t.Logf("batch %d: %d items, %d writes", i/100, len(ups), st.Writes()-before)
		before = st.Writes()
		_, err = h.Handle(context.Background(), shardEvent("shardId-0001", b))
		require.NoError(t, err)
		require.LessOrEqual(t, st.Writes()-before, int64(len(ups)), "redelivery of batch %d", i/100)
	}

}
