package dataflow

import (
	"context"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// This file is the whole contract between the data flow's runtime and its
// components: what a component type implements (Type, Runner), what the
// runtime gives it (PlanContext at plan time, Runtime while it runs), and
// the rules both keep. A new component type needs nothing else: implement
// Type, give its package a `func Register(r *Registry)` and call it from
// package builtin (or add it to a Registry of your own).
//
// # The graph
//
// A dataflow task's `with` is one graph (see Graph in graph.go for the
// fields as decoded):
//
//	with:
//	  batch_rows: 10000          # rows per batch sources aim for (default DefaultBatchRows)
//	  memory_limit: 256MiB       # the Budget blocking components reserve from (default DefaultMemoryLimit)
//	  tap: {path: derive, rows: 20}   # keep the first rows of one path in the task's output
//	  components:
//	    - name: read             # unique: letters, digits, '_' or '-'
//	      type: csv_source       # a registered component type
//	      settings: {file: sales.csv, header: true, columns: [{name: id, type: int64}, ...]}
//	      on_error: redirect     # fail (default) | ignore | redirect
//	    - name: derive
//	      type: derived_column
//	      input: read            # or inputs: [a, b.out] for types taking several
//	      settings: {columns: [{name: total, expression: "price * qty"}]}
//	    - name: bad
//	      type: csv_destination
//	      input: read.error      # the rows read rejected, with error_component and error_reason
//	      settings: {file: bad.csv}
//
// A path names one output of one component: "comp.output", or "comp" for
// its first output (Plan.Outputs[0]). A component whose on_error is
// redirect also has the output "error" (ErrorOutputName): the rejected
// row's columns (Plan.ErrorColumns) then error_component and error_reason
// (utf8). Rules checked before anything runs, each error naming the
// component and, in a package file, its line:
//   - the component type is known (else: did you mean);
//   - every input path names a component and one of its outputs (else:
//     did you mean); a component has as many inputs as its Info allows;
//   - the graph has no cycle;
//   - an output feeds at most one input, as in SSIS: to send the same rows
//     to several components put a multicast between them (its output is
//     the one output that may feed any number of inputs: OutputSpec.Shared);
//     an output that feeds nothing is allowed, its rows are counted and
//     dropped;
//   - each component's Plan accepts its inputs' schemas: type mismatches
//     between components are Plan errors (union_all's columns, a
//     destination's columns, an expression over a missing column).
//
// # Batches and memory
//
// Rows flow as Apache Arrow record batches (arrow.RecordBatch), built with
// Runtime.Allocator (a counting allocator: the task reports its peak).
// Each path is a bounded channel of PathCapacity batches, so a fast
// producer waits for a slow consumer (back-pressure) and a non-blocking
// flow holds at most about (paths x PathCapacity + components) batches
// whatever its row count. A component that must hold rows (sort,
// aggregate, a lookup's cache) reserves their bytes from Runtime.Memory
// first: past memory_limit it either spills to Runtime.Dir or fails with
// a clear error naming itself and the limit (never grows unbounded).
//
// Ownership: Output.Send takes over the caller's reference to the batch
// (do not Release it after Send, Retain first if you keep using it);
// Input.Recv hands the receiver one reference, which it must Release. A
// batch sent on a path must have exactly the schema planned for that
// path (same fields, same types), and at least one row.
//
// # Errors
//
// The first error a Runner returns fails the flow: the runtime cancels
// the context of every other component and returns that error, prefixed
// with `component "NAME" (TYPE): `. A row-level failure (a value that
// does not parse or convert, an expression that fails on a row, a lookup
// without a match treated as error) goes through Runtime.Reject, which
// applies the component's on_error: fail returns an error (return it),
// ignore counts the row and drops it, redirect sends it to NAME.error.
//
// # Statistics
//
// The runtime counts the rows sent on every path (atomic counters) and
// the task's output carries them (see Stats): paths {"read.out": N, ...},
// rows_read (sent by components without inputs), rows_written (received
// by components without outputs), rows_rejected, memory_peak_bytes,
// memory_held_peak_bytes (the Budget's peak), components (rows in, out
// and rejected per component), and tap when one is asked for (see
// stats.go).

// ErrorOutputName is the output a redirecting component sends rejected
// rows to: path "comp.error".
const ErrorOutputName = "error"

// DefaultOutputName is the usual name of a component's first output:
// path "comp" means its first output, whatever its name.
const DefaultOutputName = "out"

// Error columns appended to a rejected row on an error path.
const (
	ErrorComponentColumn = "error_component"
	ErrorReasonColumn    = "error_reason"
)

// ErrorPolicy is what a component does with a row that fails.
type ErrorPolicy string

// Error policies, as SSIS's error dispositions: fail the component, ignore
// the failure (drop the row), redirect the row to the error output.
const (
	OnErrorFail     ErrorPolicy = "fail"
	OnErrorIgnore   ErrorPolicy = "ignore"
	OnErrorRedirect ErrorPolicy = "redirect"
)

// Type is a kind of component (csv_source, derived_column, ...).
// Implementations are stateless: all state lives in the Runner a Plan
// returns.
type Type interface {
	// Info says what the type is and how many inputs it takes.
	Info() Info
	// Plan checks one component's settings against its inputs' schemas
	// and returns its outputs' schemas and, when pc.Checking() is false,
	// its Runner. It is called in the graph's order (a component after
	// the components it reads from) twice: at validation time, when
	// settings may still hold ${...} interpolations and some schemas are
	// unknown (nil: a sql_source that declares no columns), and at run
	// time with every value resolved and every schema known. Report every
	// problem at once (errors.Join) through pc.Settings and pc.Errorf so
	// each names its field; never panic.
	Plan(pc *PlanContext) (*Plan, error)
}

// Info describes a component type.
type Info struct {
	// Doc is one line saying what the type does, for listings.
	Doc string
	// MinInputs and MaxInputs bound the inputs: 0, 0 for a source; 1, 1
	// for most transformations and destinations; MaxInputs -1 for any
	// number (union_all).
	MinInputs, MaxInputs int
}

// Plan is what a component's Plan returns.
type Plan struct {
	// Outputs are the component's outputs, the first one what a path of
	// the component's name alone means; a destination has none. Names
	// are unique and not ErrorOutputName. A Schema may be nil only while
	// checking, when it cannot be known yet.
	Outputs []OutputSpec
	// ErrorColumns are the columns of a rejected row on the error path
	// (before error_component and error_reason). Nil means the first
	// input's schema, or for a source its first output's schema.
	ErrorColumns *arrow.Schema
	// Results are the keys the component adds to the task's output
	// (Runtime.SetResult), such as row_count's variable: checked for
	// clashes between components and with the runtime's own keys.
	Results []string
	// Runner runs the component; nil while checking.
	Runner Runner
}

// OutputSpec is one output of a component.
type OutputSpec struct {
	Name   string
	Schema *arrow.Schema
	// Shared lets the output feed any number of inputs, each receiving
	// every batch (the runtime Retains once per consumer): multicast's
	// output. Other outputs feed at most one input.
	Shared bool
}

// Runner is one planned component, ready to run once.
type Runner interface {
	// Run reads its inputs until io.EOF, writes its outputs, and returns
	// nil when done or the first error. It must return promptly when ctx
	// ends (every Recv and Send does), release every batch it received,
	// and close what it opened (rows, files, connections borrowed from a
	// pool) before it returns, whatever the outcome. The runtime closes
	// the outputs after Run returns: do not signal the end yourself.
	Run(ctx context.Context, rt Runtime) error
}

// Runtime is what a running component gets from the flow.
type Runtime interface {
	// Component is the component's name; Type its type's name.
	Component() string
	Type() string
	// Inputs are the component's inputs, in the order of its `inputs`.
	Inputs() []Input
	// Output is the named output; Outputs are all of them, in Plan order
	// (the error output is not among them: use Reject).
	Output(name string) Output
	Outputs() []Output
	// Reject applies the component's on_error to one failed row: with
	// fail it returns an error naming the component and reason (return
	// it); with ignore it counts the row and returns nil; with redirect
	// it queues the row for the error output and returns nil (or the
	// error output's Send error, such as ctx ending). row is the row's
	// values in ErrorColumns' order, as Go values (see Value) or strings
	// for a column the component could not type (sources make their
	// ErrorColumns utf8 for that). Use RejectRow to copy a row of a batch
	// whose schema is ErrorColumns.
	Reject(ctx context.Context, row []any, reason string) error
	RejectRow(ctx context.Context, batch arrow.RecordBatch, i int, reason string) error
	// Allocator is the flow's counting allocator: build every batch with
	// it.
	Allocator() memory.Allocator
	// BatchRows is the rows per batch sources and re-batching components
	// aim for (the graph's batch_rows).
	BatchRows() int
	// Memory is the flow's budget for rows a component holds.
	Memory() Budget
	// Connections are the run's connections (nil when the package has
	// none); Dir is the run's scratch directory (files are relative to
	// it, never outside it: see ResolveFiles).
	Connections() task.Connections
	Dir() string
	// SetResult adds key (declared in Plan.Results) to the task's output.
	SetResult(key string, value any)
	// Log is the component's logger (attributes component and type);
	// Warn also shows a line in the execution's messages.
	Log() *slog.Logger
	Warn(message string)
}

// Input is one input of a running component.
type Input interface {
	// Path is the path it reads, such as "read.out".
	Path() string
	Schema() *arrow.Schema
	// Recv waits for the next batch and hands over one reference to it
	// (Release it); io.EOF once the producer is done; ctx's error when
	// the flow stops.
	Recv(ctx context.Context) (arrow.RecordBatch, error)
}

// Output is one output of a running component.
type Output interface {
	// Path is the path it writes, such as "read.out".
	Path() string
	Schema() *arrow.Schema
	// Send hands the batch to the output's consumer(s), waiting while
	// the path is full (back-pressure), and counts its rows. It takes
	// over the caller's reference, also when it returns an error (ctx's,
	// when the flow stops). A batch of no rows is released and dropped.
	Send(ctx context.Context, batch arrow.RecordBatch) error
}

// Budget is the memory a flow's blocking components may hold
// (memory_limit). Reserve before holding bytes, Release when freed.
type Budget interface {
	// Reserve takes n bytes, waiting while others hold too much; it
	// fails at once, with ErrMemoryLimit, when n alone is over the limit
	// or ctx ends while waiting. A component that cannot wait (it holds
	// bytes already and needs more: sort) uses TryReserve and spills or
	// fails when it gets false.
	Reserve(ctx context.Context, n int64) error
	TryReserve(n int64) bool
	Release(n int64)
	// Limit is memory_limit in bytes.
	Limit() int64
}

// PlanContext is what a component's Plan gets.
type PlanContext struct {
	// Name and Type are the component's name and type.
	Name string
	Type string
	// Settings are the component's settings; read them through it, so a
	// wrong or unknown one is reported with its field (Settings.Err).
	Settings *Settings
	// Inputs are the component's inputs in order. Schema is nil only
	// while checking, when the producer's schema is not known yet.
	Inputs []PlanInput
	// OnError is the component's error policy.
	OnError ErrorPolicy
	// BatchRows is the graph's batch_rows.
	BatchRows int

	env *planEnv // run-time environment; nil while checking
}

// PlanInput is one input while planning.
type PlanInput struct {
	Path   string
	Schema *arrow.Schema
}

// Checking reports whether this is validation, not a run: settings may
// hold ${...}, no connection or file may be touched, Runner is not needed.
func (pc *PlanContext) Checking() bool { return pc.env == nil }

// Context is the run's context (nil while checking): a source that must
// ask a server for its schema (sql_source) uses it and the connections.
func (pc *PlanContext) Context() context.Context {
	if pc.env == nil {
		return nil
	}
	return pc.env.ctx
}

// Connections are the run's connections (nil while checking or when the
// package has none); Dir the run's scratch directory ("" while checking).
func (pc *PlanContext) Connections() task.Connections {
	if pc.env == nil {
		return nil
	}
	return pc.env.conns
}

// Dir is the run's scratch directory ("" while checking).
func (pc *PlanContext) Dir() string {
	if pc.env == nil {
		return ""
	}
	return pc.env.dir
}

// CompileRow compiles a per-row expression once, in the package's
// expression language (expr-lang, as `when` and `set` use), over the
// columns of schema: the row's columns are names (a column named like a
// root below is read as row["name"]), with params, vars and system as
// elsewhere in the package. The result's Type is the Arrow type it
// produces (nil when it cannot be told: the component must ask for a
// declared type). While checking, a nil schema means unknown columns:
// only the syntax is checked and the RowExpr must not be evaluated.
// Errors name the expression, not the component: wrap them with
// pc.Errorf or Settings.Errorf. On a row, an expression that fails while
// a column it reads is null gives null (as SQL: price * qty is null when
// price is); `price ?? 0` chooses another value.
func (pc *PlanContext) CompileRow(src string, schema *arrow.Schema) (RowExpr, error) {
	return compileRow(src, schema, pc.env.rootValues())
}

// RowExpr is one compiled per-row expression.
type RowExpr interface {
	Source() string
	// Type is the Arrow type of its result; nil when unknown.
	Type() arrow.DataType
	// Eval evaluates it on row i of batch (whose schema is the one it
	// was compiled for): a Go value as Value gives (nil for null).
	Eval(batch arrow.RecordBatch, i int) (any, error)
}

// Helpers every component may use (values.go, settings.go, files.go):
//   - ParseType("int64"), TypeName(t): column type names in settings:
//     string, int16, int32, int64 (int), float32, float64 (float,
//     double), bool, date, timestamp, binary.
//   - Value(arr, i) any: an array's value as Go (int64, float64, string,
//     bool, time.Time, []byte, nil); AppendValue(builder, v) error the
//     other way, converting what it can and naming what it cannot.
//   - Settings: typed getters (String, Int, Bool, Strings, Columns, ...)
//     that record problems with the field's name; Settings.Err at the end
//     also reports unknown settings with a did-you-mean.
//   - Schema(columns) builds a schema from declared columns; TextSchema
//     makes every column utf8 (a source's ErrorColumns); ParseBytes reads
//     sizes such as "64MiB".
//   - ResolveFiles(dir, spec): one file, a list, or a glob, inside the
//     scratch directory; ResolveFile(dir, name) for a file to write.
//   - ConnectionUser (connections.go): a type whose components name a
//     connection in settings.connection lists the kinds it accepts, and
//     package validation checks the name.
//
// Output.Send is safe to call from several goroutines of one component
// (union_all reads its inputs at once); Recv on one Input is not.
