// Package streamgen generates the records the executions table's stream
// carries, for the aggregate fold's replay tests and for cmd/bench's fold
// figures. It is internal: no production code runs on generated records.
package streamgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// Options shape a generated stream.
type Options struct {
	Seed    uint64
	Records int       // about this many records
	Start   time.Time // when the first execution is created
	// Scope prefixes folder, pool and worker names ("" for none).
	Scope string
}

// Generate returns a stream of execution changes as the executions table's
// stream would carry them: each execution is inserted pending, claimed
// (running, attempt 1), maybe lost and claimed again, and mostly ends
// (succeeded, failed, canceled, ended_unexpectedly); some stay pending or
// running, some pending ones are deleted; heartbeats change nothing
// countable. Records of different executions interleave; those of one
// execution keep their order. Sequence numbers grow.
func Generate(o Options) []events.DynamoDBEventRecord {
	r := rand.New(rand.NewPCG(o.Seed, 7))
	folders := []string{o.Scope + "finance", o.Scope + "sales"}
	projects := []string{"daily", "hourly"}
	packages := []string{"load", "copy", "report"}
	pools := []string{o.Scope + "default", o.Scope + "big"}
	workers := []string{o.Scope + "w1", o.Scope + "w2", o.Scope + "w3"}
	type exec struct {
		queue []events.DynamoDBEventRecord
	}
	var execs []*exec
	total := 0
	for e := 0; total < o.Records; e++ {
		id := fmt.Sprintf("%se%05d", o.Scope, e)
		created := o.Start.Add(time.Duration(e) * 7 * time.Second)
		img := map[string]events.DynamoDBAttributeValue{
			"id":         events.NewStringAttribute(id),
			"folder":     events.NewStringAttribute(folders[r.IntN(len(folders))]),
			"project":    events.NewStringAttribute(projects[r.IntN(len(projects))]),
			"package":    events.NewStringAttribute(packages[r.IntN(len(packages))]),
			"pool":       events.NewStringAttribute(pools[r.IntN(len(pools))]),
			"status":     events.NewStringAttribute(string(execution.Pending)),
			"attempt":    events.NewNumberAttribute("0"),
			"created_at": events.NewNumberAttribute(strconv.FormatInt(created.UnixMilli(), 10)),
		}
		ex := &exec{}
		at := created
		emit := func(name events.DynamoDBOperationType, old, new map[string]events.DynamoDBAttributeValue) {
			ex.queue = append(ex.queue, events.DynamoDBEventRecord{
				EventID: fmt.Sprintf("%s-%d", id, len(ex.queue)), EventName: string(name),
				Change: events.DynamoDBStreamRecord{
					ApproximateCreationDateTime: events.SecondsEpochTime{Time: at},
					Keys:                        map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(id)},
					OldImage:                    old, NewImage: new, StreamViewType: "NEW_AND_OLD_IMAGES",
				},
			})
		}
		with := func(m map[string]events.DynamoDBAttributeValue, kv ...string) map[string]events.DynamoDBAttributeValue {
			out := make(map[string]events.DynamoDBAttributeValue, len(m)+len(kv)/2)
			for k, v := range m {
				out[k] = v
			}
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == "status" || kv[i] == "worker_id" || kv[i] == "error" {
					out[kv[i]] = events.NewStringAttribute(kv[i+1])
				} else {
					out[kv[i]] = events.NewNumberAttribute(kv[i+1])
				}
			}
			return out
		}
		ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
		emit(events.DynamoDBOperationTypeInsert, nil, img)
		cur := img
		fate := r.IntN(20)
		if fate == 0 { // deleted while pending
			emit(events.DynamoDBOperationTypeRemove, cur, nil)
		} else if fate > 1 { // fate 1 stays pending
			attempts := 1
			if r.IntN(6) == 0 {
				attempts = 2
			}
			for a := 1; a <= attempts; a++ {
				at = at.Add(time.Duration(1+r.IntN(3000)) * time.Millisecond)
				next := with(cur, "status", string(execution.Running), "worker_id", workers[r.IntN(len(workers))],
					"attempt", strconv.Itoa(a), "started_at", ms(at))
				emit(events.DynamoDBOperationTypeModify, cur, next)
				cur = next
				if r.IntN(2) == 0 { // heartbeat
					next = with(cur, "lease_until", ms(at.Add(time.Minute)))
					emit(events.DynamoDBOperationTypeModify, cur, next)
					cur = next
				}
				if a < attempts { // lost: back to pending
					next = with(cur, "status", string(execution.Pending))
					emit(events.DynamoDBOperationTypeModify, cur, next)
					cur = next
				}
			}
			if fate > 3 { // fates 2, 3 stay running
				final := []execution.Status{execution.Succeeded, execution.Succeeded, execution.Succeeded, execution.Failed, execution.Canceled, execution.EndedUnexpectedly}[r.IntN(6)]
				at = at.Add(time.Duration(r.ExpFloat64()*20000) * time.Millisecond)
				kv := []string{"status", string(final), "ended_at", ms(at)}
				if final == execution.Failed {
					kv = append(kv, "error", "task copy: exit 1")
				}
				next := with(cur, kv...)
				emit(events.DynamoDBOperationTypeModify, cur, next)
			}
		}
		total += len(ex.queue)
		execs = append(execs, ex)
	}
	// Interleave: pick a random execution among the next few with records left.
	var out []events.DynamoDBEventRecord
	live := execs
	for len(live) > 0 {
		w := min(len(live), 8)
		j := r.IntN(w)
		ex := live[j]
		out = append(out, ex.queue[0])
		ex.queue = ex.queue[1:]
		if len(ex.queue) == 0 {
			live = append(live[:j], live[j+1:]...)
		}
	}
	for i := range out {
		out[i].Change.SequenceNumber = fmt.Sprintf("%021d", 1000000+i)
	}
	return out
}
