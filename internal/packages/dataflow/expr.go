package dataflow

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/scaleout/scaleout/internal/packages/expression"
)

// Names an expression over rows sees besides the row's columns.
const (
	rowRoot    = "row"
	paramsRoot = expression.Params
	varsRoot   = expression.Vars
	systemRoot = expression.System
)

var rowRoots = []string{rowRoot, paramsRoot, varsRoot, systemRoot}

// rowExpr is a compiled per-row expression. It keeps one environment map
// it refills per row, so one rowExpr serves one goroutine.
type rowExpr struct {
	src  string
	typ  arrow.DataType
	prog *vm.Program
	// cols are the schema's columns the expression reads by name, as
	// (name, index); whole is true when it reads `row` (every column).
	cols  []colRef
	whole bool
	env   map[string]any
	row   map[string]any
	names []string // every column, for `row`
	// vm runs prog, reused from row to row (Eval is called by one
	// goroutine: it also reuses env): expr.Run would make a VM and its
	// stack for every row.
	vm vm.VM
}

type colRef struct {
	name string
	idx  int
}

// compileRow compiles src over schema's columns (see
// PlanContext.CompileRow); roots are params, vars and system (nil while
// checking: empty ones).
func compileRow(src string, schema *arrow.Schema, roots map[string]any) (RowExpr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	if len(src) > expression.MaxLength {
		return nil, fmt.Errorf("expression of %d bytes: at most %d", len(src), expression.MaxLength)
	}
	env := map[string]any{
		paramsRoot: map[string]any{},
		varsRoot:   map[string]any{},
		systemRoot: expression.SystemInfo{},
	}
	for k, v := range roots {
		env[k] = v
	}
	var colNames []string
	if schema == nil {
		env[rowRoot] = map[string]any{}
	} else {
		row := make(map[string]any, schema.NumFields())
		for _, f := range schema.Fields() {
			row[f.Name] = goSample(f.Type)
			colNames = append(colNames, f.Name)
			if _, root := env[f.Name]; !root && f.Name != rowRoot {
				env[f.Name] = goSample(f.Type)
			}
		}
		env[rowRoot] = row
	}
	opts := []expr.Option{expr.Env(env), expr.MaxNodes(2000)}
	if schema == nil {
		opts = append(opts, expr.AllowUndefinedVariables()) // after Env, which makes names strict
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, explainCompile(src, err, colNames)
	}
	e := &rowExpr{src: src, prog: prog, env: env, names: colNames}
	if schema == nil {
		return e, nil
	}
	e.typ = arrowTypeOf(prog.Node().Type())
	used := map[string]bool{}
	node := prog.Node()
	ast.Walk(&node, identVisitor(func(name string) { used[name] = true }))
	for i, f := range schema.Fields() {
		if used[f.Name] && !isRoot(f.Name) {
			e.cols = append(e.cols, colRef{f.Name, i})
		}
	}
	e.whole = used[rowRoot]
	if e.whole {
		e.row = make(map[string]any, len(colNames))
		e.env[rowRoot] = e.row
	}
	return e, nil
}

func isRoot(name string) bool {
	for _, r := range rowRoots {
		if r == name {
			return true
		}
	}
	return false
}

type identVisitor func(string)

func (f identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		f(id.Value)
	}
}

var unknownName = regexp.MustCompile(`unknown name ([^\s(]+)`)

// explainCompile turns expr's error into one line, naming the columns
// when a name is unknown.
func explainCompile(src string, err error, cols []string) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		name := m[1]
		hint := didYouMean(name, cols)
		if len(cols) > 0 {
			hint += fmt.Sprintf(" (columns: %s; write row[%q] for a column whose name is not a plain word)", strings.Join(cols, ", "), "unit price")
		}
		return fmt.Errorf("expression %q: no column or name %q%s", src, name, hint)
	}
	return fmt.Errorf("expression %q: %s", src, msg)
}

var timeType = reflect.TypeFor[time.Time]()

// arrowTypeOf is the Arrow type of an expression result of Go type t, nil
// when it cannot be told.
func arrowTypeOf(t reflect.Type) arrow.DataType {
	if t == nil {
		return nil
	}
	if t == timeType {
		return arrow.FixedWidthTypes.Timestamp_us
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return arrow.PrimitiveTypes.Int64
	case reflect.Float32, reflect.Float64:
		return arrow.PrimitiveTypes.Float64
	case reflect.String:
		return arrow.BinaryTypes.String
	case reflect.Bool:
		return arrow.FixedWidthTypes.Boolean
	}
	return nil
}

func (e *rowExpr) Source() string       { return e.src }
func (e *rowExpr) Type() arrow.DataType { return e.typ }
func (e *rowExpr) String() string       { return e.src }

// Eval evaluates the expression on row i of batch.
func (e *rowExpr) Eval(batch arrow.RecordBatch, i int) (any, error) {
	if e.names == nil && e.cols == nil && batch != nil && batch.NumCols() > 0 {
		return nil, fmt.Errorf("expression %q was compiled without its columns", e.src)
	}
	for _, c := range e.cols {
		e.env[c.name] = Value(batch.Column(c.idx), i)
	}
	if e.whole {
		for j, n := range e.names {
			e.row[n] = Value(batch.Column(j), i)
		}
	}
	v, err := e.vm.Run(e.prog, e.env)
	if err != nil && e.readsNull() {
		return nil, nil // as in SQL, an operation on a null is null
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", e.src, strings.Join(strings.Fields(err.Error()), " "))
	}
	return normalize(v), nil
}

// normalize turns expr's results into the Go values Value gives.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint:
		return int64(x) //nolint:gosec // an expression's count fits
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// readsNull reports whether a column the expression read on this row is
// null.
func (e *rowExpr) readsNull() bool {
	for _, c := range e.cols {
		if e.env[c.name] == nil {
			return true
		}
	}
	if e.whole {
		for _, v := range e.row {
			if v == nil {
				return true
			}
		}
	}
	return false
}
