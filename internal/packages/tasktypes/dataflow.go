package tasktypes

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/builtin"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Dataflow is the dataflow task type: a graph of components (sources,
// transformations, destinations) through which rows stream as batches,
// as SSIS's Data Flow task. See package dataflow for the graph's
// settings (with: batch_rows, memory_limit, tap, components) and the
// components' types.
//
// Output: paths (rows per path, "comp.output": n), rows_read,
// rows_written, rows_rejected, memory_peak_bytes (batches),
// memory_held_peak_bytes (what sort, aggregate and lookup held), components (per
// component: type, rows_in, rows_out, rows_rejected), tap when asked for
// (path, columns, rows), and the results components add (row_count's
// variable): map them into the package's variables with the task's
// `outputs`. The worker keeps paths, the totals and the tap with the
// task's summary in the execution (its data_flow).
type Dataflow struct {
	// Registry holds the component types; nil means package builtin's.
	Registry *dataflow.Registry
}

func (d Dataflow) registry() *dataflow.Registry {
	if d.Registry != nil {
		return d.Registry
	}
	return builtin.Registry()
}

// Check implements task.Type.
func (d Dataflow) Check(with map[string]any) error {
	return dataflow.Check(d.registry(), with)
}

// NamedConnections implements task.ConnectionNamer: the connections the
// components name.
func (d Dataflow) NamedConnections(with map[string]any) []task.ConnectionRef {
	return dataflow.NamedConnections(d.registry(), with)
}

// Run implements task.Type.
func (d Dataflow) Run(ctx context.Context, in task.Input) (task.Output, error) {
	if _, err := dataflow.DecodeGraph(in.With, false); err != nil {
		return nil, permanent(err)
	}
	env := dataflow.Env{Connections: in.Connections, Dir: in.Dir, Vars: in.Vars}
	if in.Eval != nil {
		if p, err := in.Eval("params"); err == nil {
			env.Params, _ = p.(map[string]any)
		}
		if s, err := in.Eval("system"); err == nil {
			env.System = s
		}
	}
	if in.Log != nil {
		env.Warn = in.Log.Warn
		env.Log = slog.New(slog.NewTextHandler(logLines{in.Log}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	reg := d.registry()
	flow, err := dataflow.Prepare(ctx, reg, in.With, env)
	if err != nil {
		return nil, err
	}
	out, err := flow.Run(ctx, env)
	if in.Log != nil && out != nil {
		in.Log.Output("", statsLine(out))
	}
	return out, err
}

// statsLine sums a run's statistics up in one line of the task's output,
// which the execution's messages keep: rows per path, then the totals.
func statsLine(out task.Output) string {
	var b strings.Builder
	b.WriteString("dataflow:")
	if paths, ok := out["paths"].(map[string]any); ok {
		for _, p := range slices.Sorted(maps.Keys(paths)) {
			fmt.Fprintf(&b, " %s=%v", p, paths[p])
		}
	}
	fmt.Fprintf(&b, "; rows_read=%v rows_written=%v rows_rejected=%v memory_peak_bytes=%v",
		out["rows_read"], out["rows_written"], out["rows_rejected"], out["memory_peak_bytes"])
	return b.String()
}

// logLines writes log lines as the task's output lines.
type logLines struct{ log task.Log }

func (l logLines) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.log.Output("", line)
	}
	return len(p), nil
}
