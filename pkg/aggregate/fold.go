package aggregate

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/execution"
)

// Ref names one package.
type Ref struct {
	Folder  string `json:"folder"`
	Project string `json:"project"`
	Package string `json:"package"`
}

func (r Ref) String() string { return r.Folder + "/" + r.Project + "/" + r.Package }

// Counts are executions by status.
type Counts map[execution.Status]int64

// Delta is the change a batch makes to one package's counts.
type Delta struct {
	Ref    Ref
	Counts Counts
	// First is the index, in the batch, of the first record that touched Ref.
	First int
}

// Fold reduces a batch of execution changes to one Delta per package, in
// the order packages first appear. An INSERT counts the new status, a
// MODIFY that changes status moves one count, a REMOVE takes the old status
// away; records that change nothing countable are skipped.
func Fold(records []events.DynamoDBEventRecord) ([]Delta, error) {
	var out []Delta
	index := map[Ref]int{}
	add := func(i int, ref Ref, s execution.Status, n int64) {
		j, ok := index[ref]
		if !ok {
			j = len(out)
			index[ref] = j
			out = append(out, Delta{Ref: ref, Counts: Counts{}, First: i})
		}
		out[j].Counts[s] += n
	}
	for i, rec := range records {
		oldRef, oldStatus, hasOld := read(rec.Change.OldImage)
		newRef, newStatus, hasNew := read(rec.Change.NewImage)
		switch events.DynamoDBOperationType(rec.EventName) {
		case events.DynamoDBOperationTypeInsert:
			if !hasNew {
				return nil, fmt.Errorf("record %s: INSERT without a new image with status and package (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
			}
			add(i, newRef, newStatus, 1)
		case events.DynamoDBOperationTypeModify:
			if !hasOld || !hasNew {
				return nil, fmt.Errorf("record %s: MODIFY without both images (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
			}
			if oldStatus == newStatus && oldRef == newRef {
				continue
			}
			add(i, oldRef, oldStatus, -1)
			add(i, newRef, newStatus, 1)
		case events.DynamoDBOperationTypeRemove:
			if !hasOld {
				return nil, fmt.Errorf("record %s: REMOVE without an old image (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
			}
			add(i, oldRef, oldStatus, -1)
		default:
			return nil, fmt.Errorf("record %s: unknown event name %q", rec.EventID, rec.EventName)
		}
	}
	// Drop deltas that cancel out entirely.
	kept := out[:0]
	for _, d := range out {
		for s, n := range d.Counts {
			if n == 0 {
				delete(d.Counts, s)
			}
		}
		if len(d.Counts) > 0 {
			kept = append(kept, d)
		}
	}
	return kept, nil
}

func read(img map[string]events.DynamoDBAttributeValue) (Ref, execution.Status, bool) {
	get := func(k string) string {
		v, ok := img[k]
		if !ok || v.DataType() != events.DataTypeString {
			return ""
		}
		return v.String()
	}
	s := execution.Status(get("status"))
	ref := Ref{Folder: get("folder"), Project: get("project"), Package: get("package")}
	return ref, s, s != "" && ref.Package != ""
}
