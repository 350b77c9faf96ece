package expression

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Roots are the names an expression can see.
const (
	Params = "params"
	Vars   = "vars"
	Tasks  = "tasks"
	Item   = "item"
	System = "system"
)

// SystemInfo is what an expression sees of the run itself, as SSIS's system
// variables (System::ExecutionInstanceGUID, System::PackageName, ...):
// system.execution_id, system.attempt, system.folder, system.project,
// system.package, system.pool, system.worker_id, system.machine and
// system.started_at (RFC 3339, UTC). A name not among them does not
// compile.
type SystemInfo struct {
	ExecutionID string `expr:"execution_id"`
	Attempt     int    `expr:"attempt"`
	Folder      string `expr:"folder"`
	Project     string `expr:"project"`
	Package     string `expr:"package"`
	Pool        string `expr:"pool"`
	WorkerID    string `expr:"worker_id"`
	Machine     string `expr:"machine"`
	StartedAt   string `expr:"started_at"`
}

// Env is what an expression is evaluated against.
type Env struct {
	Params map[string]any `expr:"params"`
	Vars   map[string]any `expr:"vars"`
	// Tasks maps a task name to {"status": ..., "outputs": {...}, "duration_ms": ...}.
	Tasks  map[string]any `expr:"tasks"`
	Item   any            `expr:"item"`
	System SystemInfo     `expr:"system"`
}

// Kind is what an expression must produce.
type Kind int

// Kinds.
const (
	Any Kind = iota
	Bool
	List
)

// Ref is a reference to params.X, vars.X or tasks.X.
type Ref struct {
	Root string
	Name string
}

// Program is one compiled expression.
type Program struct {
	src  string
	kind Kind
	prog *vm.Program
	refs []Ref
}

// MaxLength is the longest expression accepted.
const MaxLength = 4096

// Compile compiles src once. A Bool program must produce a bool; a List
// program a list.
func Compile(src string, kind Kind) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	if len(src) > MaxLength {
		return nil, fmt.Errorf("expression of %d bytes: at most %d", len(src), MaxLength)
	}
	opts := []expr.Option{expr.Env(Env{}), expr.MaxNodes(2000)}
	if kind == Bool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		msg := oneLine(err.Error())
		if strings.Contains(msg, "SystemInfo has no field") {
			msg += " (system has execution_id, attempt, folder, project, package, pool, worker_id, machine, started_at)"
		}
		return nil, fmt.Errorf("expression %q: %s", src, msg)
	}
	p := &Program{src: src, kind: kind, prog: prog}
	node := prog.Node()
	ast.Walk(&node, refCollector{refs: &p.refs})
	sort.Slice(p.refs, func(i, j int) bool {
		return p.refs[i].Root+"."+p.refs[i].Name < p.refs[j].Root+"."+p.refs[j].Name
	})
	return p, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

type refCollector struct{ refs *[]Ref }

func (c refCollector) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || (id.Value != Params && id.Value != Vars && id.Value != Tasks) {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return // computed member: checked at run time
	}
	r := Ref{Root: id.Value, Name: prop.Value}
	for _, have := range *c.refs {
		if have == r {
			return
		}
	}
	*c.refs = append(*c.refs, r)
}

// Source is the expression's text.
func (p *Program) Source() string { return p.src }

// Refs lists the params, vars and tasks the expression names.
func (p *Program) Refs() []Ref { return p.refs }

// Eval runs the program.
func (p *Program) Eval(env Env) (any, error) {
	v, err := expr.Run(p.prog, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", p.src, oneLine(err.Error()))
	}
	if p.kind == List {
		if v == nil {
			return []any{}, nil
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("expression %q: gave %T, want a list", p.src, v)
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, nil
	}
	return v, nil
}

// EvalBool runs a Bool program.
func (p *Program) EvalBool(env Env) (bool, error) {
	v, err := p.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q: gave %T, want a bool", p.src, v)
	}
	return b, nil
}

// EvalList runs a List program.
func (p *Program) EvalList(env Env) ([]any, error) {
	v, err := p.Eval(env)
	if err != nil {
		return nil, err
	}
	return v.([]any), nil
}
