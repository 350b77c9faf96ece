package streamgen

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// Wide returns one batch of 100 records, all at time at, that touches as
// many aggregate items as a batch can: 100 workers (w000 to w099) and 50
// packages (pkg00 to pkg49) in 5 folders (f0 to f4, 2 projects p0 and p1
// each) and 2 pools (default and big). Each package has one execution
// claimed (pending to running, on an even worker) and another ending
// (running to succeeded after 30 s, on the next, odd, worker). The
// batch's records are all there is: the earlier changes of its executions
// are not, so read alone the claims take a pending away that was never
// counted.
func Wide(at time.Time) []events.DynamoDBEventRecord {
	ms := func(t time.Time) events.DynamoDBAttributeValue {
		return events.NewNumberAttribute(strconv.FormatInt(t.UnixMilli(), 10))
	}
	var recs []events.DynamoDBEventRecord
	for i := range 100 {
		k := i / 2 // the package
		im := func(status execution.Status) map[string]events.DynamoDBAttributeValue {
			return map[string]events.DynamoDBAttributeValue{
				"id":         events.NewStringAttribute(fmt.Sprintf("e%03d", i)),
				"folder":     events.NewStringAttribute(fmt.Sprintf("f%d", k%5)),
				"project":    events.NewStringAttribute(fmt.Sprintf("p%d", k%2)),
				"package":    events.NewStringAttribute(fmt.Sprintf("pkg%02d", k)),
				"pool":       events.NewStringAttribute([]string{"default", "big"}[k%2]),
				"worker_id":  events.NewStringAttribute(fmt.Sprintf("w%03d", i)),
				"status":     events.NewStringAttribute(string(status)),
				"created_at": ms(at.Add(-time.Minute)),
				"started_at": ms(at.Add(-30 * time.Second)),
				"ended_at":   ms(at),
			}
		}
		old, new := im(execution.Pending), im(execution.Running)
		delete(old, "worker_id") // a pending execution has no worker yet
		if i%2 == 1 {
			old, new = im(execution.Running), im(execution.Succeeded)
		}
		delete(old, "ended_at")
		recs = append(recs, events.DynamoDBEventRecord{
			EventID: fmt.Sprint(i), EventName: string(events.DynamoDBOperationTypeModify),
			Change: events.DynamoDBStreamRecord{
				SequenceNumber:              strconv.Itoa(1000 + i),
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: at},
				OldImage:                    old, NewImage: new,
			},
		})
	}
	return recs
}
