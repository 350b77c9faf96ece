package execution

import (
	"encoding/json"
	"slices"

	"github.com/scaleout/scaleout/scaleouttype"
)

// DataFlowStats is what a dataflow task moved (see scaleouttype).
type DataFlowStats = scaleouttype.DataFlowStats

// PathRows is how many rows went along one path of a data flow.
type PathRows = scaleouttype.PathRows

// TapRows are the first rows of a tapped path.
type TapRows = scaleouttype.TapRows

// FitDataFlow returns a copy of d of at most max bytes as JSON (nil when
// even its totals do not fit): the tap keeps at most MaxTapRows rows of at
// most MaxTapBytes in all, then, while d is too large, the tap goes, then
// the paths past the room (counted in PathsOmitted); whatever was left
// out sets Truncated.
func FitDataFlow(d *DataFlowStats, max int) *DataFlowStats {
	if d == nil {
		return nil
	}
	c := *d
	c.Paths = slices.Clone(d.Paths)
	if d.Tap != nil {
		t := *d.Tap
		size := 2
		n := 0
		for _, r := range t.Rows {
			if n == MaxTapRows || size+len(r)+1 > MaxTapBytes {
				break
			}
			size += len(r) + 1
			n++
		}
		if n < len(t.Rows) {
			t.Truncated = true
		}
		t.Rows = slices.Clone(t.Rows[:n])
		c.Tap = &t
	}
	if jsonSize(c) <= max {
		return &c
	}
	if c.Tap != nil {
		c.Tap, c.Truncated = nil, true
		if jsonSize(c) <= max {
			return &c
		}
	}
	paths := c.Paths
	c.Paths, c.Truncated = []PathRows{}, true
	size := jsonSize(c)
	if size > max {
		return nil
	}
	for _, p := range paths {
		n := jsonSize(p) + 1
		if size+n > max {
			break
		}
		size += n
		c.Paths = append(c.Paths, p)
	}
	c.PathsOmitted += len(paths) - len(c.Paths)
	return &c
}

func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}
