package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The capacity model's load: the system starts this many executions a
// second and this many run at once (so a run lasts 10 s on average), each
// worker running modelConcurrency of them.
const (
	modelStartsPerSecond = 10_000
	modelRunning         = 100_000
	modelConcurrency     = 8
	// partitionWrites is what one DynamoDB partition takes a second; the
	// executions table has at least its write rate / partitionWrites
	// partitions, and its stream as many shards.
	partitionWrites = 1000
)

// modelScenario is how the started executions spread over names.
type modelScenario struct {
	name               string
	folders, packages  int
	pools              int
	transitionsPerExec int // stream records per execution: INSERT, claim, end
}

// keyLoad is the writes a second one partition key receives, and why.
type keyLoad struct {
	table, key, why string
	perSecond       float64
}

// printCapacity computes capacity.hottest_key_writes_per_s: the highest
// write rate any one partition key of any table or index receives at the
// model's load. The writes an execution causes in each table and index are
// the throughput phase's metered write units (tput), the writes a running
// execution causes per minute are the running system's (rm); which key each
// write lands on comes from the code's own key functions
// (execstore.IndexKeys, messages.PartitionOf, registry.PartitionOf) and, for
// the stream's aggregates, from aggregate.Plan on a generated second of
// stream records batched as the stack batches them.
func printCapacity(set resources.Set, tput throughputResult, rm runningResult) {
	n := float64(len(tput.ids))
	perExec := map[string]float64{} // index name ("" the table) -> write units per execution
	catalogPerExec := 0.0
	for r, u := range tput.usage.Capacity {
		switch r.Table {
		case set.Executions.Name:
			perExec[r.Index] += u.Write / n
		case set.Catalog.Name:
			catalogPerExec += u.Write / n
		}
	}
	// Per running minute, per execution: what the running system wrote to
	// its executions table (nothing, if runs write nothing) and to its
	// catalog (the worker's session renewals: per worker, times the
	// executions it runs).
	runExec, runCatalog := 0.0, 0.0
	for r, u := range rm.usage.Capacity {
		switch {
		case strings.HasSuffix(r.Table, "-executions"):
			runExec += rm.perMinute(u.Write)
		case strings.HasSuffix(r.Table, "-catalog"):
			runCatalog += rm.perMinute(u.Write)
		}
	}
	perWorkerPerSecond := runCatalog * float64(rm.executions) / 60 // the running system had one worker

	var worst []keyLoad
	for _, sc := range []modelScenario{
		{name: "one package", folders: 1, packages: 1, pools: 1, transitionsPerExec: 3},
		{name: "1,000 packages in 10 folders", folders: 10, packages: 1000, pools: 4, transitionsPerExec: 3},
	} {
		loads := modelLoads(sc, perExec, catalogPerExec, runExec, perWorkerPerSecond)
		slices.SortFunc(loads, func(a, b keyLoad) int { return cmp.Compare(b.perSecond, a.perSecond) })
		stderrf("# capacity model, %s: %d executions started a second, %d running (%d workers of %d), stream batches of %d "+
			"records or %s; hottest keys:\n", sc.name, modelStartsPerSecond, modelRunning, modelRunning/modelConcurrency,
			modelConcurrency, resources.StreamBatchSize, resources.StreamBatchingWindow)
		for _, l := range loads[:min(6, len(loads))] {
			stderrf("#   %8.1f writes/s  %-22s %-40s %s\n", l.perSecond, l.table, l.key, l.why)
		}
		worst = append(worst, loads[0])
	}
	hottest := slices.MaxFunc(worst, func(a, b keyLoad) int { return cmp.Compare(a.perSecond, b.perSecond) })
	stderrf("# capacity: writes are counted as the metered write units (an item over 1 KB counts more); left out: " +
		"reads, the idempotency records (one key per caller's key), TTL deletes\n")
	fmt.Printf("bench: capacity.hottest_key_writes_per_s %.0f writes/s\n", hottest.perSecond)
}

// modelLoads is the writes a second on every partition key in scenario sc.
func modelLoads(sc modelScenario, perExec map[string]float64, catalogPerExec, runExecPerMin, perWorkerPerSecond float64) []keyLoad {
	loads := map[[2]string]*keyLoad{}
	add := func(table, key, why string, w float64) {
		k := [2]string{table, key}
		if loads[k] == nil {
			loads[k] = &keyLoad{table: table, key: key, why: why}
		}
		loads[k].perSecond += w
	}
	day := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	execs := make([]execution.Execution, modelStartsPerSecond)
	for i := range execs {
		p := i % sc.packages
		execs[i] = execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: fmt.Sprintf("folder%d", p%sc.folders), Project: "project",
			Package: fmt.Sprintf("package%d", p), Pool: fmt.Sprintf("pool%d", i%sc.pools), Status: execution.Pending,
			CreatedAt: day, WorkerID: fmt.Sprintf("worker%05d", i%(modelRunning/modelConcurrency)),
		}
	}
	// One second of starts: each execution's writes to the table and the
	// indexes it is filed in (by_status: pending, then running, half each).
	for _, e := range execs {
		keys := execstore.IndexKeys(e)
		for index, units := range perExec {
			switch index {
			case resources.ByStatus:
				add(index, keys[index], "enters at create, rewritten at claim, leaves at the end", units)
			case "":
				add("executions", keys[""], "create, claim, finish", units)
			default:
				add(index, keys[index], "filed at create", units)
			}
		}
		add("catalog", messages.PartitionOf(e.ID), "the execution's messages", catalogPerExec)
	}
	// The running executions: what runs write per minute, and each worker's
	// session renewals on its registry partition.
	for i := range modelRunning / modelConcurrency {
		id := fmt.Sprintf("worker%05d", i)
		add("catalog", registry.PartitionOf(id), "session renewals of the workers in this partition", perWorkerPerSecond)
	}
	if runExecPerMin > 0 {
		add("executions", "(each running execution)", "writes while it runs", runExecPerMin/60)
	}
	// The stream: a second of records over the shards the table's write
	// rate needs, each shard's records in batches as the stack makes them.
	tableWrites := float64(modelStartsPerSecond) * perExec[""]
	shards := max(1, int(tableWrites/partitionWrites+0.5))
	recordsPerShard := float64(modelStartsPerSecond*sc.transitionsPerExec) / float64(shards)
	batch := int(min(float64(resources.StreamBatchSize), max(1, recordsPerShard*max(resources.StreamBatchingWindow.Seconds(), 0.25))))
	byShard := make([][]events.DynamoDBEventRecord, shards)
	for i, e := range execs {
		s := i % shards
		byShard[s] = append(byShard[s], transitions(e, day, uint64(i))...)
	}
	for s, recs := range byShard {
		slices.SortStableFunc(recs, func(a, b events.DynamoDBEventRecord) int {
			return cmp.Compare(a.Change.SequenceNumber, b.Change.SequenceNumber)
		})
		for chunk := range slices.Chunk(recs, batch) {
			ups, err := aggregate.Plan("", fmt.Sprintf("shardId-%05d", s), chunk, aggregate.DefaultRetention)
			if err != nil {
				stderrf("# capacity model: planning a generated batch failed: %v\n", err)
				return nil
			}
			for pk, w := range aggregate.PartitionWrites(ups) {
				add("catalog", pk, fmt.Sprintf("stream aggregates (%d shards, batches of %d)", shards, batch), float64(w))
			}
		}
	}
	return slices.Collect(func(yield func(keyLoad) bool) {
		for _, k := range slices.SortedFunc(maps.Keys(loads), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
			if !yield(*loads[k]) {
				return
			}
		}
	})
}

// transitions are e's stream records: inserted pending, claimed, ended.
func transitions(e execution.Execution, at time.Time, n uint64) []events.DynamoDBEventRecord {
	img := func(status string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(e.ID), "folder": events.NewStringAttribute(e.Folder),
			"project": events.NewStringAttribute(e.Project), "package": events.NewStringAttribute(e.Package),
			"pool": events.NewStringAttribute(e.Pool), "worker_id": events.NewStringAttribute(e.WorkerID),
			"status":     events.NewStringAttribute(status),
			"created_at": events.NewNumberAttribute(fmt.Sprint(at.UnixMilli())),
			"started_at": events.NewNumberAttribute(fmt.Sprint(at.UnixMilli())),
			"ended_at":   events.NewNumberAttribute(fmt.Sprint(at.Add(10 * time.Second).UnixMilli())),
		}
	}
	rec := func(seq uint64, name events.DynamoDBOperationType, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		s := fmt.Sprintf("%021d", seq)
		return events.DynamoDBEventRecord{EventID: s, EventName: string(name), Change: events.DynamoDBStreamRecord{
			SequenceNumber: s, ApproximateCreationDateTime: events.SecondsEpochTime{Time: at}, OldImage: old, NewImage: new,
		}}
	}
	base := n * 3
	return []events.DynamoDBEventRecord{
		rec(base, events.DynamoDBOperationTypeInsert, nil, img("pending")),
		rec(base+1, events.DynamoDBOperationTypeModify, img("pending"), img("running")),
		rec(base+2, events.DynamoDBOperationTypeModify, img("running"), img("succeeded")),
	}
}
