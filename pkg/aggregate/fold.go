package aggregate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Ref names one package.
type Ref = scaleouttype.PackageRef

// Counts are executions by status.
type Counts = scaleouttype.Counts

// Delta is the change a batch makes to one package's counts.
type Delta struct {
	Ref    Ref
	Counts Counts
	// First is the index, in the batch, of the first record that touched Ref.
	First int
}

// Fold reduces a batch of execution changes to one count Delta per package,
// in the order packages first appear, dropping deltas that cancel out. It is
// the package-count part of Plan, kept for callers that only want counts.
func Fold(records []events.DynamoDBEventRecord) ([]Delta, error) {
	var out []Delta
	index := map[Ref]int{}
	for i, rec := range records {
		ch, err := readChange(i, rec)
		if err != nil {
			return nil, err
		}
		if ch.skip {
			continue
		}
		add := func(im *image, n int64) {
			if im == nil {
				return
			}
			j, ok := index[im.ref]
			if !ok {
				j = len(out)
				index[im.ref] = j
				out = append(out, Delta{Ref: im.ref, Counts: Counts{}, First: i})
			}
			out[j].Counts[im.status] += n
		}
		add(ch.old, -1)
		add(ch.new, 1)
	}
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

// image is what the aggregates read of a stored execution (see
// pkg/execstore: folder, project, package, pool, status, worker_id,
// attempt, created_at, started_at, ended_at in unix ms, error,
// callback_url).
type image struct {
	id        string
	ref       Ref
	pool      string
	worker    string
	status    execution.Status
	attempt   int64
	createdAt int64
	startedAt int64
	endedAt   int64
	err       string
	callback  string
}

func readImage(img map[string]events.DynamoDBAttributeValue) *image {
	str := func(k string) string {
		v, ok := img[k]
		if !ok || v.DataType() != events.DataTypeString {
			return ""
		}
		return v.String()
	}
	num := func(k string) int64 {
		v, ok := img[k]
		if !ok || v.DataType() != events.DataTypeNumber {
			return 0
		}
		n, err := strconv.ParseInt(v.Number(), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	im := &image{
		id:     str("id"),
		ref:    Ref{Folder: str("folder"), Project: str("project"), Package: str("package")},
		pool:   str("pool"),
		worker: str("worker_id"),
		status: execution.Status(str("status")),
		// The rest only matter when present.
		attempt: num("attempt"), createdAt: num("created_at"), startedAt: num("started_at"), endedAt: num("ended_at"),
		err: str("error"), callback: str("callback_url"),
	}
	if im.status == "" || im.ref.Package == "" {
		return nil
	}
	return im
}

// change is one stream record, read.
type change struct {
	index    int
	seq      string // padded (padSeq)
	hour     int64  // hour of the record (unix hours), for the dedup window
	old, new *image
	// skip is set when nothing countable changed.
	skip bool
}

// seqWidth is the longest sequence number a DynamoDB stream gives (40
// digits). Sequence numbers are stored left-padded with zeros to it, so
// that DynamoDB's string comparison orders them as numbers.
const seqWidth = 40

// padSeq returns a sequence number padded to seqWidth digits; an error for
// one that is not all digits.
func padSeq(seq string) (string, error) {
	if seq == "" || len(seq) > seqWidth || strings.Trim(seq, "0123456789") != "" {
		return "", fmt.Errorf("sequence number %q: want 1 to %d digits", seq, seqWidth)
	}
	return strings.Repeat("0", seqWidth-len(seq)) + seq, nil
}

func readChange(i int, rec events.DynamoDBEventRecord) (change, error) {
	ch := change{index: i, seq: rec.Change.SequenceNumber}
	ch.old = readImage(rec.Change.OldImage)
	ch.new = readImage(rec.Change.NewImage)
	switch events.DynamoDBOperationType(rec.EventName) {
	case events.DynamoDBOperationTypeInsert:
		if ch.new == nil {
			return ch, fmt.Errorf("record %s: INSERT without a new image with status and package (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
		}
		ch.old = nil
	case events.DynamoDBOperationTypeModify:
		if ch.old == nil || ch.new == nil {
			return ch, fmt.Errorf("record %s: MODIFY without both images (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
		}
		o, n := ch.old, ch.new
		ch.skip = o.status == n.status && o.ref == n.ref && o.pool == n.pool && o.worker == n.worker
	case events.DynamoDBOperationTypeRemove:
		if ch.old == nil {
			return ch, fmt.Errorf("record %s: REMOVE without an old image (is the stream NEW_AND_OLD_IMAGES?)", rec.EventID)
		}
		ch.new = nil
	default:
		return ch, fmt.Errorf("record %s: unknown event name %q", rec.EventID, rec.EventName)
	}
	if ch.seq != "" {
		seq, err := padSeq(ch.seq)
		if err != nil {
			return ch, fmt.Errorf("record %s: %w", rec.EventID, err)
		}
		ch.seq = seq
	}
	ch.hour = rec.Change.ApproximateCreationDateTime.Unix() / 3600
	if ch.hour < 0 {
		ch.hour = 0
	}
	return ch, nil
}

// enteredFinal reports whether the change moved an execution into a final
// status: the moment its duration and its bucket are counted, once.
func (c change) enteredFinal() bool {
	return c.new != nil && c.new.status.Final() && (c.old == nil || !c.old.status.Final())
}
