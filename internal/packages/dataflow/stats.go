package dataflow

import (
	"time"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// stats is the task's output after a run:
//
//	paths:             {"read.out": rows, "read.error": rows, ...} every path's rows
//	rows_read:         rows sources sent
//	rows_written:      rows destinations (components without outputs) received
//	rows_rejected:     rows any component rejected (failed, ignored or redirected)
//	memory_peak_bytes: the most bytes the flow's batches held at once
//	memory_held_peak_bytes: the most bytes components held at once through the Budget (sort, aggregate, lookup)
//	components:        {"name": {"type", "rows_in", "rows_out", "rows_rejected"}}
//	tap:               {"path": "derive.out", "columns": [name, ...], "rows": [{column: value}, ...]} when asked for
//
// and every key a component set with SetResult.
func (fr *flowRun) stats() task.Output {
	paths := map[string]any{}
	var read, written, rejected int64
	comps := map[string]any{}
	var tap map[string]any
	for _, c := range fr.comps {
		var out int64
		for _, o := range c.allOutputs() {
			n := o.path.rows.Load()
			paths[o.path.name] = n
			if !o.path.errorOut {
				out += n
				if o.path.fromSrc {
					read += n
				}
			}
			if t := o.path.tap; t != nil {
				t.mu.Lock()
				rows := make([]any, len(t.rows))
				for i, r := range t.rows {
					rows[i] = r
				}
				cols := make([]any, len(t.columns))
				for i, c := range t.columns {
					cols[i] = c
				}
				t.mu.Unlock()
				tap = map[string]any{"path": o.path.name, "columns": cols, "rows": rows}
			}
		}
		in := c.rowsIn.Load()
		if len(c.n.plan.Outputs) == 0 {
			written += in
		}
		rej := c.rejected.Load()
		rejected += rej
		comps[c.n.spec.Name] = map[string]any{"type": c.n.spec.Type, "rows_in": in, "rows_out": out, "rows_rejected": rej}
	}
	o := task.Output{
		"paths":                  paths,
		"rows_read":              read,
		"rows_written":           written,
		"rows_rejected":          rejected,
		"memory_peak_bytes":      fr.alloc.Peak(),
		"memory_held_peak_bytes": fr.budget.Peak(),
		"components":             comps,
	}
	if tap == nil && fr.flow.Graph.Tap != nil {
		tap = map[string]any{"path": fr.flow.Graph.Tap.Path, "columns": []any{}, "rows": []any{}}
	}
	if tap != nil {
		o["tap"] = tap
	}
	fr.results.Range(func(k, v any) bool {
		o[k.(string)] = v
		return true
	})
	return o
}

// jsonValue is v as JSON shows it well: times as RFC 3339 text, bytes as
// text.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	}
	return v
}
