package aggregatetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/streamgen"
)

// Store is a store of aggregates under test: the side the stream function
// writes and the side the API reads.
type Store interface {
	aggregate.Writer
	aggregate.Reader
}

// NewStore returns an empty store built with opts (the suite passes
// WithClock where a case needs a clock of its own). Stores on a shared
// table add a scope of their own (WithScope), so that no two cases meet.
type NewStore func(t *testing.T, opts ...aggregate.Option) Store

// Run runs every case of the suite against stores newStore makes, in
// parallel.
func Run(t *testing.T, newStore NewStore) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, newStore NewStore)
	}{
		{"applies counts", appliesCounts},
		{"a failed write reports its tail", failedWriteReportsTail},
		{"bad filter", badFilter},
		{"empty dashboard", emptyDashboard},
		{"reads across partitions", readsAcrossPartitions},
		{"dashboard window counts nothing older", dashboardWindowCountsNothingOlder},
		{"dashboard across days", dashboardAcrossDays},
		{"replay never double counts", replayNeverDoubleCounts},
		{"shards applied at once", shardsAppliedAtOnce},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore)
		})
	}
}

func img(pkg, status string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"folder": events.NewStringAttribute("f"), "project": events.NewStringAttribute("p"),
		"package": events.NewStringAttribute(pkg), "status": events.NewStringAttribute(status),
	}
}

// full fills in zero for every status c does not name.
func full(c aggregate.Counts) aggregate.Counts {
	out := aggregate.Counts{}
	for _, s := range execution.Statuses {
		out[s] = c[s]
	}
	return out
}

// nonzero leaves out the statuses c counts zero.
func nonzero(c aggregate.Counts) aggregate.Counts {
	out := aggregate.Counts{}
	for s, n := range c {
		if n != 0 {
			out[s] = n
		}
	}
	return out
}

// shardEvent is a batch as Lambda delivers it from one shard with a
// tumbling window set.
func shardEvent(shard string, recs []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	var ev events.DynamoDBTimeWindowEvent
	ev.Records = recs
	ev.ShardID = shard
	return ev
}

// handle delivers a batch from shard and requires it to succeed whole.
func handle(t *testing.T, h aggregate.Handler, shard string, recs []events.DynamoDBEventRecord) {
	t.Helper()
	resp, err := h.Handle(context.Background(), shardEvent(shard, recs))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.NotNil(t, resp.State, "Lambda takes a response without state for a failure")
}

// Counts follow the transitions, batch by batch; a package never run
// counts zero in every status.
func appliesCounts(t *testing.T, newStore NewStore) {
	store := newStore(t)
	h := aggregate.Handler{Store: store}
	ref := aggregate.Ref{Folder: "f", Project: "p", Package: "pkg"}
	ctx := context.Background()

	c, err := store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, full(nil), c, "a package never run counts zero in every status")

	// Sequence numbers grow along the stream and are never reused.
	seq := 0
	batch := func(recs ...events.DynamoDBEventRecord) []events.DynamoDBEventRecord {
		for i := range recs {
			seq++
			recs[i].Change.SequenceNumber = strconv.Itoa(seq)
		}
		return recs
	}
	handle(t, h, "shardId-1", batch(
		events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img("pkg", "pending")}},
		events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img("pkg", "pending")}},
	))
	c, err = store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, full(aggregate.Counts{execution.Pending: 2}), c)

	handle(t, h, "shardId-1", batch(
		events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: img("pkg", "pending"), NewImage: img("pkg", "running")}},
		events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: img("pkg", "running"), NewImage: img("pkg", "succeeded")}},
	))
	c, err = store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, full(aggregate.Counts{execution.Pending: 1, execution.Succeeded: 1}), c)
	st, err := store.Stats(ctx, aggregate.Filter(ref))
	require.NoError(t, err)
	require.Equal(t, int64(0), st.Running)
	named := aggregate.Ref{Folder: st.Folder, Project: st.Project, Package: st.Package}
	require.Equal(t, ref, named, "the stats name what they are of")
}

// failing is a store whose writes of the keys fail picks fail.
type failing struct {
	Store
	mu   sync.Mutex
	fail func(aggregate.Key) error
}

var errInjected = errors.New("injected write failure")

func (f *failing) setFail(fail func(aggregate.Key) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *failing) Apply(ctx context.Context, u *aggregate.Update) error {
	f.mu.Lock()
	var err error
	if f.fail != nil {
		err = f.fail(u.Key)
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.Apply(ctx, u)
}

// A write that fails reports the first record that touched its item, so
// Lambda retries only from there; a batch that cannot be planned fails
// whole, saying why.
func failedWriteReportsTail(t *testing.T, newStore NewStore) {
	store := &failing{Store: newStore(t)}
	h := aggregate.Handler{Store: store}
	ctx := context.Background()
	recs := []events.DynamoDBEventRecord{
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "10", NewImage: img("a", "pending")}},
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "11", NewImage: img("b", "pending")}},
	}
	// The package item of b fails: b's record on is retried.
	store.setFail(func(k aggregate.Key) error {
		if k.SK == "PKG" && k.PK[len(k.PK)-2:] == "/b" {
			return errInjected
		}
		return nil
	})
	resp, err := h.Handle(ctx, shardEvent("shardId-1", recs))
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "11"}}, resp.BatchItemFailures)
	// Every write fails: from the first record on.
	store.setFail(func(aggregate.Key) error { return errInjected })
	resp, err = h.Handle(ctx, shardEvent("shardId-1", recs))
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "10"}}, resp.BatchItemFailures)
	// The retried tail counts b once, and a once.
	store.setFail(nil)
	handle(t, h, "shardId-1", recs[1:])
	handle(t, h, "shardId-1", recs)
	for _, pkg := range []string{"a", "b"} {
		c, err := store.Counts(ctx, aggregate.Ref{Folder: "f", Project: "p", Package: pkg})
		require.NoError(t, err)
		require.Equal(t, full(aggregate.Counts{execution.Pending: 1}), c, pkg)
	}

	_, err = h.Handle(ctx, shardEvent("shardId-1", []events.DynamoDBEventRecord{{EventName: "INSERT"}}))
	require.ErrorContains(t, err, "fold stream batch")
	// Without a shard (no tumbling window on the event source mapping) a
	// redelivery cannot be told from a new record: refused, saying why.
	_, err = h.Handle(ctx, shardEvent("", recs))
	require.ErrorContains(t, err, "tumbling window")
}

// A filter that names a project without its folder, or a package without
// its project, is refused.
func badFilter(t *testing.T, newStore NewStore) {
	store := newStore(t)
	for _, f := range []aggregate.Filter{{Project: "p"}, {Package: "x"}, {Folder: "f", Package: "x"}} {
		_, err := store.Stats(context.Background(), f)
		require.ErrorIs(t, err, aggregate.ErrBadFilter, "%+v", f)
	}
}

// A dashboard over a window where nothing ended has every count, an hourly
// series and an empty (not null) package list, as the API's Dashboard
// schema requires.
func emptyDashboard(t *testing.T, newStore NewStore) {
	store := newStore(t)
	d, err := store.Dashboard(context.Background(), time.Now().UTC().Truncate(time.Hour).Add(-time.Hour))
	require.NoError(t, err)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var got struct {
		Counts   map[string]int64  `json:"counts"`
		Packages []json.RawMessage `json:"packages"`
		Hourly   []struct {
			Counts map[string]int64 `json:"counts"`
		} `json:"hourly"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Contains(t, string(b), `"packages":[]`)
	require.Len(t, got.Counts, len(execution.Statuses), "%s", b)
	require.GreaterOrEqual(t, len(got.Hourly), 2, "%s", b)
	for _, h := range got.Hourly {
		require.Len(t, h.Counts, len(execution.Statuses), "%s", b)
	}
	pools, err := store.Pools(context.Background(), []string{"default"})
	require.NoError(t, err)
	require.Empty(t, pools, "a pool that never had an execution is left out")
}

// The read side finds what a wide batch wrote across its items: workers
// and pools by name (more than 100, names never written left out, a name
// twice read once), the dashboard from every package's bucket.
func readsAcrossPartitions(t *testing.T, newStore NewStore) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour).Add(20 * time.Minute)
	store := newStore(t)
	handle(t, aggregate.Handler{Store: store}, "shardId-0001", streamgen.Wide(at))
	ctx := context.Background()

	var ids []string
	for i := range 150 { // w000..w099 ran executions, w100..w149 did not
		ids = append(ids, fmt.Sprintf("w%03d", 149-i))
	}
	// The batch alone: what earlier batches added (the pending of the
	// claimed executions, the running of the ending ones) is not there, so
	// its removal shows as negative counts.
	ws, err := store.Workers(ctx, ids)
	require.NoError(t, err)
	require.Len(t, ws, 100)
	for i, w := range ws {
		require.Equal(t, fmt.Sprintf("w%03d", i), w.Worker, "sorted by id")
		want := aggregate.Counts{execution.Running: 1}
		if i%2 == 1 {
			want = aggregate.Counts{execution.Running: -1, execution.Succeeded: 1}
		}
		require.Equal(t, want, nonzero(w.Counts), w.Worker)
	}
	pools, err := store.Pools(ctx, []string{"default", "big", "idle", "big"})
	require.NoError(t, err)
	require.Len(t, pools, 2)
	require.Equal(t, "big", pools[0].Pool)
	require.Equal(t, aggregate.Counts{execution.Pending: -25, execution.Succeeded: 25}, nonzero(pools[0].Counts))
	require.Equal(t, "default", pools[1].Pool)
	require.Equal(t, int64(25), pools[1].Durations.Count)
	require.Equal(t, int64(30_000), pools[1].Durations.P50MS)

	folder, err := store.Stats(ctx, aggregate.Filter{Folder: "f0"})
	require.NoError(t, err)
	require.Equal(t, aggregate.Counts{execution.Pending: -10, execution.Succeeded: 10}, nonzero(folder.Counts)) // its 10 packages
	project, err := store.Stats(ctx, aggregate.Filter{Folder: "f0", Project: "p1"})
	require.NoError(t, err)
	require.Equal(t, aggregate.Counts{execution.Pending: -5, execution.Succeeded: 5}, nonzero(project.Counts))
	pkg, err := store.Stats(ctx, aggregate.Filter{Folder: "f1", Project: "p1", Package: "pkg01"})
	require.NoError(t, err)
	require.Equal(t, "e003", pkg.Last.ExecutionID, "the later record at the same time")
	require.Nil(t, pkg.LastFailure)

	d, err := store.Dashboard(ctx, at.Truncate(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(-50), d.Pending)
	require.Equal(t, aggregate.Counts{execution.Succeeded: 50}, nonzero(d.Counts))
	require.Len(t, d.Packages, 50)
	require.Equal(t, aggregate.Counts{execution.Succeeded: 50}, nonzero(d.Hourly[0].Counts))
	require.Equal(t, int64(50), d.Hourly[0].Durations.Count)
}

// ended is a record of execution id of package id ending at at.
func ended(id string, at time.Time, seq int) events.DynamoDBEventRecord {
	im := func(status execution.Status) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(id), "folder": events.NewStringAttribute("f"),
			"project": events.NewStringAttribute("p"), "package": events.NewStringAttribute(id),
			"pool": events.NewStringAttribute("default"), "worker_id": events.NewStringAttribute("w"),
			"status":     events.NewStringAttribute(string(status)),
			"created_at": events.NewNumberAttribute(strconv.FormatInt(at.Add(-time.Minute).UnixMilli(), 10)),
			"started_at": events.NewNumberAttribute(strconv.FormatInt(at.Add(-time.Second).UnixMilli(), 10)),
			"ended_at":   events.NewNumberAttribute(strconv.FormatInt(at.UnixMilli(), 10)),
		}
	}
	old := im(execution.Running)
	delete(old, "ended_at")
	return events.DynamoDBEventRecord{
		EventID: id, EventName: string(events.DynamoDBOperationTypeModify),
		Change: events.DynamoDBStreamRecord{
			SequenceNumber:              strconv.Itoa(seq),
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: at},
			OldImage:                    old, NewImage: im(execution.Succeeded),
		},
	}
}

// The dashboard's window counts nothing that ended before its start: the
// figures are kept per hour, so "the last 24 h" starts at the first whole
// hour within them, and an execution that ended 24h30m ago is left out
// where one that ended 23h10m ago is in.
func dashboardWindowCountsNothingOlder(t *testing.T, newStore NewStore) {
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	store := newStore(t, aggregate.WithClock(func() time.Time { return now }))
	handle(t, aggregate.Handler{Store: store}, "shardId-0001", []events.DynamoDBEventRecord{
		ended("too-old", now.Add(-24*time.Hour-30*time.Minute), 1),
		ended("in-window", now.Add(-23*time.Hour-10*time.Minute), 2),
	})

	d, err := store.Dashboard(context.Background(), now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, now.Add(-23*time.Hour-30*time.Minute), d.Since, "rounded up to the hour")
	require.Equal(t, now, d.Until)
	require.Len(t, d.Hourly, 24, "23 whole hours and this one")
	require.Equal(t, aggregate.Counts{execution.Succeeded: 1}, nonzero(d.Counts))
	require.Len(t, d.Packages, 1)
	require.Equal(t, "in-window", d.Packages[0].Package)

	// A start on the hour is kept as it is.
	d, err = store.Dashboard(context.Background(), now.Add(-25*time.Hour-30*time.Minute))
	require.NoError(t, err)
	require.Equal(t, now.Add(-25*time.Hour-30*time.Minute), d.Since)
	require.Equal(t, aggregate.Counts{execution.Succeeded: 2}, nonzero(d.Counts))
}

// The dashboard finds every bucket of a window of days: executions that
// ended on the first and the last day of a three-day window, none on the
// day between.
func dashboardAcrossDays(t *testing.T, newStore NewStore) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	first, last := today.Add(-48*time.Hour+10*time.Hour+20*time.Minute), today.Add(23*time.Hour+20*time.Minute)
	store := newStore(t, aggregate.WithClock(func() time.Time { return today.Add(23*time.Hour + 50*time.Minute) }))
	ctx := context.Background()
	for shard, at := range map[string]time.Time{"shardId-first": first, "shardId-last": last} {
		handle(t, aggregate.Handler{Store: store}, shard, streamgen.Wide(at))
	}

	d, err := store.Dashboard(ctx, today.Add(-48*time.Hour))
	require.NoError(t, err)
	require.Len(t, d.Hourly, 72)
	require.Equal(t, aggregate.Counts{execution.Succeeded: 100}, nonzero(d.Counts))
	for _, h := range d.Hourly {
		want := aggregate.Counts{}
		if h.Hour.Equal(first.Truncate(time.Hour)) || h.Hour.Equal(last.Truncate(time.Hour)) {
			want = aggregate.Counts{execution.Succeeded: 50}
		}
		require.Equal(t, want, nonzero(h.Counts), "hour %s", h.Hour)
	}
	require.Len(t, d.Packages, 50)
	for _, p := range d.Packages {
		require.Equal(t, aggregate.Counts{execution.Succeeded: 2}, nonzero(p.Counts), p.PackageRef.String())
	}

	// From the quiet day on: the last day's only.
	d, err = store.Dashboard(ctx, today.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, d.Hourly, 48)
	require.Equal(t, aggregate.Counts{execution.Succeeded: 50}, nonzero(d.Counts))
}

// ReplayNeverDoubleCounts delivers the same generated stream as Lambda
// might: every batch twice, in bisected pieces, from two shards
// interleaved and replayed, and with failed writes whose failed tails are
// retried. The aggregates must equal a recount from the executions
// themselves every time.
func replayNeverDoubleCounts(t *testing.T, newStore NewStore) {
	start := time.Now().UTC().Add(-3 * time.Hour)
	recs := streamgen.Generate(streamgen.Options{Seed: 42, Records: 400, Start: start})
	require.GreaterOrEqual(t, len(recs), 400)

	deliver := func(t *testing.T, h aggregate.Handler, batch []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEventResponse {
		t.Helper()
		resp, err := h.Handle(context.Background(), shardEvent("shardId-0001", batch))
		require.NoError(t, err)
		require.NotNil(t, resp.State, "Lambda takes a response without state for a failure")
		return resp
	}
	// retryTail delivers batch and, like Lambda with
	// ReportBatchItemFailures, retries from the reported record on.
	retryTail := func(t *testing.T, h aggregate.Handler, batch []events.DynamoDBEventRecord) {
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
		run  func(t *testing.T, h aggregate.Handler, st *failing, r *rand.Rand)
	}{
		{"every batch twice", func(t *testing.T, h aggregate.Handler, st *failing, r *rand.Rand) {
			for i := 0; i < len(recs); i += 100 {
				b := recs[i:min(i+100, len(recs))]
				require.Empty(t, deliver(t, h, b).BatchItemFailures)
				require.Empty(t, deliver(t, h, b).BatchItemFailures)
			}
		}},
		{"bisected pieces and redeliveries", func(t *testing.T, h aggregate.Handler, st *failing, r *rand.Rand) {
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
		{"two shards, interleaved, replayed", func(t *testing.T, h aggregate.Handler, st *failing, r *rand.Rand) {
			// Each execution's records are in one shard, in order; the
			// shards' batches interleave, and each shard is replayed
			// from its start now and then (a lost checkpoint).
			shards := splitShards(recs, 2)
			names := [2]string{"shardId-00001-a", "shardId-00001-b"}
			pos := [2]int{}
			for pos[0] < len(shards[0]) || pos[1] < len(shards[1]) {
				i := r.IntN(2)
				if pos[i] >= len(shards[i]) {
					i = 1 - i
				}
				n := 1 + r.IntN(60)
				b := shards[i][pos[i]:min(pos[i]+n, len(shards[i]))]
				handle(t, h, names[i], b)
				pos[i] += len(b)
				if r.IntN(8) == 0 {
					handle(t, h, names[i], shards[i][:pos[i]])
				}
			}
		}},
		{"failed tails retried", func(t *testing.T, h aggregate.Handler, st *failing, r *rand.Rand) {
			for i := 0; i < len(recs); i += 100 {
				b := recs[i:min(i+100, len(recs))]
				salt := r.Uint64()
				failures := 0
				st.setFail(func(k aggregate.Key) error {
					// About a quarter of the items fail, at most a few times.
					if (keyHash(k)^salt)%4 == 0 && failures < 3 {
						failures++
						return errInjected
					}
					return nil
				})
				retryTail(t, h, b)
				st.setFail(nil)
				// Then the batch is split by bisect-on-error and replayed.
				m := r.IntN(len(b))
				require.Empty(t, deliver(t, h, b[:m]).BatchItemFailures)
				require.Empty(t, deliver(t, h, b[m:]).BatchItemFailures)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &failing{Store: newStore(t)}
			tc.run(t, aggregate.Handler{Store: st}, st, rand.New(rand.NewPCG(7, uint64(len(tc.name)))))
			check(t, st, recs, start.Truncate(time.Hour))
		})
	}
}

// Several shards' batches applied at once, each shard in order as Lambda
// reads it, add up to the recount: an item's write is atomic.
func shardsAppliedAtOnce(t *testing.T, newStore NewStore) {
	start := time.Now().UTC().Add(-2 * time.Hour)
	recs := streamgen.Generate(streamgen.Options{Seed: 11, Records: 600, Start: start})
	store := newStore(t)
	shards := splitShards(recs, 4)
	var wg sync.WaitGroup
	errs := make(chan error, len(shards))
	for i, shard := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := aggregate.Handler{Store: store}
			for j := 0; j < len(shard); j += 25 {
				resp, err := h.Handle(context.Background(), shardEvent(fmt.Sprintf("shardId-%d", i), shard[j:min(j+25, len(shard))]))
				if err == nil && len(resp.BatchItemFailures) > 0 {
					err = fmt.Errorf("shard %d batch %d failed from %s", i, j/25, resp.BatchItemFailures[0].ItemIdentifier)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	check(t, store, recs, start.Truncate(time.Hour))
}

// splitShards splits a stream over n shards by execution id, as DynamoDB
// does by partition key: each execution's records in one shard, in order.
func splitShards(recs []events.DynamoDBEventRecord, n int) [][]events.DynamoDBEventRecord {
	out := make([][]events.DynamoDBEventRecord, n)
	for _, rec := range recs {
		f := fnv.New32a()
		f.Write([]byte(rec.Change.Keys["id"].String()))
		i := int(f.Sum32() % uint32(n))
		out[i] = append(out[i], rec)
	}
	return out
}

func keyHash(k aggregate.Key) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k.PK + "\x00" + k.SK))
	return h.Sum64()
}

// image is what the recount reads of an execution's image.
type image struct {
	ref                aggregate.Ref
	pool, worker       string
	status             execution.Status
	startedAt, endedAt int64
	changedAt          int64
}

func readImage(av map[string]events.DynamoDBAttributeValue) *image {
	s := func(k string) string {
		if v, ok := av[k]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	n := func(k string) int64 {
		if v, ok := av[k]; ok && v.DataType() == events.DataTypeNumber {
			x, _ := strconv.ParseInt(v.Number(), 10, 64)
			return x
		}
		return 0
	}
	im := &image{
		ref:  aggregate.Ref{Folder: s("folder"), Project: s("project"), Package: s("package")},
		pool: s("pool"), worker: s("worker_id"), status: execution.Status(s("status")),
		startedAt: n("started_at"), endedAt: n("ended_at"),
	}
	if im.status == "" || im.ref.Package == "" {
		return nil
	}
	im.changedAt = n("created_at")
	if im.endedAt > 0 {
		im.changedAt = im.endedAt
	} else if im.startedAt > 0 {
		im.changedAt = im.startedAt
	}
	return im
}

// expected are the aggregates recounted from the executions themselves:
// the last image of each execution, folded directly.
type expected struct {
	pkgs, projects, folders, pools, workers map[string]aggregate.Counts
	all                                     aggregate.Counts
	pkgDur                                  map[aggregate.Ref]*aggregate.Durations
	allDur                                  aggregate.Durations
	hourly                                  map[time.Time]aggregate.Counts
	pkgEnded                                map[aggregate.Ref]aggregate.Counts
	last, lastFail                          map[aggregate.Ref]string
}

func recount(recs []events.DynamoDBEventRecord) expected {
	final := map[string]*image{}
	var order []string
	e := expected{
		pkgs: map[string]aggregate.Counts{}, projects: map[string]aggregate.Counts{}, folders: map[string]aggregate.Counts{},
		pools: map[string]aggregate.Counts{}, workers: map[string]aggregate.Counts{}, all: aggregate.Counts{},
		pkgDur: map[aggregate.Ref]*aggregate.Durations{}, hourly: map[time.Time]aggregate.Counts{},
		pkgEnded: map[aggregate.Ref]aggregate.Counts{}, last: map[aggregate.Ref]string{}, lastFail: map[aggregate.Ref]string{},
	}
	type rank struct {
		at  int64
		seq string // zero-padded, so it orders as a number
	}
	later := func(a, b rank) bool { return a.at > b.at || a.at == b.at && a.seq > b.seq }
	lastRank, failRank := map[aggregate.Ref]rank{}, map[aggregate.Ref]rank{}
	for _, r := range recs {
		id := r.Change.Keys["id"].String()
		if _, ok := final[id]; !ok {
			order = append(order, id)
		}
		old, im := readImage(r.Change.OldImage), readImage(r.Change.NewImage)
		final[id] = im
		if im != nil && (old == nil || old.status != im.status) {
			// The latest change by time, then by sequence number.
			rk := rank{im.changedAt, fmt.Sprintf("%040s", r.Change.SequenceNumber)}
			if l, ok := lastRank[im.ref]; !ok || later(rk, l) {
				lastRank[im.ref], e.last[im.ref] = rk, id
			}
			if l, ok := failRank[im.ref]; im.status == execution.Failed && (!ok || later(rk, l)) {
				failRank[im.ref], e.lastFail[im.ref] = rk, id
			}
		}
	}
	inc := func(m map[string]aggregate.Counts, k string, s execution.Status) {
		if m[k] == nil {
			m[k] = aggregate.Counts{}
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
				d = &aggregate.Durations{}
				e.pkgDur[im.ref] = d
			}
			d.Observe(im.endedAt - im.startedAt)
			e.allDur.Observe(im.endedAt - im.startedAt)
			h := time.UnixMilli(im.endedAt).UTC().Truncate(time.Hour)
			if e.hourly[h] == nil {
				e.hourly[h] = aggregate.Counts{}
			}
			e.hourly[h][im.status]++
			if e.pkgEnded[im.ref] == nil {
				e.pkgEnded[im.ref] = aggregate.Counts{}
			}
			e.pkgEnded[im.ref][im.status]++
		}
	}
	return e
}

func sameDurations(t *testing.T, want, got aggregate.Durations, what string) {
	t.Helper()
	if want.Buckets == nil {
		want.Buckets = map[int]int64{}
	}
	require.Equal(t, want, got, what)
}

// check holds the store's aggregates against a recount: per package (with
// its durations, last execution and last failure), project, folder, pool,
// worker and in all, and the dashboard from since.
func check(t *testing.T, st aggregate.Reader, recs []events.DynamoDBEventRecord, since time.Time) {
	t.Helper()
	ctx := context.Background()
	e := recount(recs)
	for ref := range e.last {
		c, err := st.Counts(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, full(e.pkgs[ref.String()]), c, "package %s", ref)
		s, err := st.Stats(ctx, aggregate.Filter(ref))
		require.NoError(t, err)
		want := aggregate.Durations{}
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
		s, err = st.Stats(ctx, aggregate.Filter{Folder: ref.Folder, Project: ref.Project})
		require.NoError(t, err)
		require.Equal(t, full(e.projects[ref.Folder+"/"+ref.Project]), s.Counts)
		s, err = st.Stats(ctx, aggregate.Filter{Folder: ref.Folder})
		require.NoError(t, err)
		require.Equal(t, full(e.folders[ref.Folder]), s.Counts)
	}
	all, err := st.Stats(ctx, aggregate.Filter{})
	require.NoError(t, err)
	require.Equal(t, full(e.all), all.Counts)
	require.Equal(t, e.all[execution.Running], all.Running)
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
	ended := aggregate.Counts{}
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
			want = aggregate.Counts{}
		}
		require.Equal(t, want, nonzero(h.Counts), "hour %s", h.Hour)
	}
}
