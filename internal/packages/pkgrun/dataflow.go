package pkgrun

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// dataFlowStats reads a dataflow task's statistics from its output (see
// package dataflow's stats: paths, rows_read, rows_written,
// rows_rejected, memory_peak_bytes, tap), nil when it has none (it did not
// run). The engine has redacted every text in out; the tap's values are
// redacted again in their text form, so that a number equal to a sensitive
// value does not show either, and long texts are cut
// (execution.MaxTapValueBytes). execution.Result.Fit cuts the rest.
func dataFlowStats(out map[string]any, red *pkgfile.Redactor) *execution.DataFlowStats {
	paths, ok := out["paths"].(map[string]any)
	if !ok {
		return nil
	}
	d := &execution.DataFlowStats{
		Paths:           make([]execution.PathRows, 0, len(paths)),
		RowsRead:        count(out["rows_read"]),
		RowsWritten:     count(out["rows_written"]),
		RowsRejected:    count(out["rows_rejected"]),
		MemoryPeakBytes: count(out["memory_peak_bytes"]),
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		d.Paths = append(d.Paths, execution.PathRows{Path: p, Rows: count(paths[p])})
	}
	if tap, ok := out["tap"].(map[string]any); ok {
		d.Tap = tapRows(tap, red)
	}
	return d
}

// tapRows turns the tap's rows (maps by column) into arrays in the
// columns' order, at most execution.MaxTapRows of them.
func tapRows(tap map[string]any, red *pkgfile.Redactor) *execution.TapRows {
	path, _ := tap["path"].(string)
	t := &execution.TapRows{Path: path, Columns: []string{}, Rows: []json.RawMessage{}}
	rows, _ := tap["rows"].([]any)
	if cols, ok := tap["columns"].([]any); ok {
		for _, c := range cols {
			t.Columns = append(t.Columns, fmt.Sprint(c))
		}
	} else { // an output without columns: those of the rows, by name
		seen := map[string]bool{}
		for _, r := range rows {
			if m, ok := r.(map[string]any); ok {
				for k := range m {
					seen[k] = true
				}
			}
		}
		t.Columns = slices.Sorted(maps.Keys(seen))
	}
	for i, r := range rows {
		if i == execution.MaxTapRows {
			t.Truncated = true
			break
		}
		m, _ := r.(map[string]any)
		vals := make([]any, len(t.Columns))
		for j, c := range t.Columns {
			v, cut := tapValue(m[c], red)
			vals[j] = v
			t.Truncated = t.Truncated || cut
		}
		b, err := json.Marshal(vals)
		if err != nil { // tapValue leaves only what JSON holds
			b = []byte("[]")
		}
		t.Rows = append(t.Rows, b)
	}
	return t
}

// tapValue is v as a tap row shows it: nil, a bool, a finite number, or
// a text (cut to execution.MaxTapValueBytes); anything whose text holds
// a sensitive value is its redacted text. cut reports a text cut.
func tapValue(v any, red *pkgfile.Redactor) (any, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, false
	case bool:
		return x, false
	case int64, int, int32:
		s = fmt.Sprint(x)
		if r := red.Redact(s); r != s {
			return r, false
		}
		return x, false
	case float64:
		s = fmt.Sprint(x)
		if r := red.Redact(s); r != s {
			return r, false
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return s, false
		}
		return x, false
	case string:
		s = x
	default:
		s = fmt.Sprint(x)
	}
	s = red.Redact(s)
	c := execution.Clip(s, execution.MaxTapValueBytes)
	return c, c != s
}

// count is a statistic as an int64 (the output holds int64; a value
// decoded from JSON may be a float64).
func count(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}
