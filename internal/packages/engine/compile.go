package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// SetType is the task type whose Output["values"] (a map of variable name
// to value) the engine writes into the package's variables.
const SetType = "set"

// Container type names.
const (
	Sequence = "sequence"
	Foreach  = "foreach"
)

// Plan is a compiled package: every expression compiled, every task type
// resolved, every scope's precedence graph built with indices. A Plan is
// immutable and may run any number of times, concurrently.
type Plan struct {
	name        string
	maxParallel int
	timeout     time.Duration
	params      map[string]pkgfile.Parameter
	varTypes    map[string]pkgfile.Type
	varInit     map[string]any
	root        *scope
	conns       []plannedConnection

	// evalCache holds the programs compiled by Input.Eval, by source.
	evalCache  sync.Map
	evalCached atomic.Int64
}

// maxEvalCache bounds how many Input.Eval programs a plan keeps.
const maxEvalCache = 4096

// Name is the package's name.
func (p *Plan) Name() string { return p.name }

type nodeKind uint8

const (
	leafNode nodeKind = iota
	sequenceNode
	foreachNode
)

// scope is one precedence graph: the package's top level, a sequence's
// tasks, or a foreach's body.
type scope struct {
	nodes []node
	// edges are the successor edges, grouped by predecessor: the edges
	// leaving node i are edges[nodes[i].succLo:nodes[i].succHi].
	edges []edge
	// needsTasks is set when an expression or setting in the scope (or in
	// its containers) mentions `tasks`: only then does a run keep the
	// scope's tasks view.
	needsTasks bool
}

type edge struct {
	to int32 // successor node
	c  int32 // index of the constraint in the successor's after
}

type constraint struct {
	pred int32
	name string
	on   pkgfile.Outcome
	when *expression.Program
}

type output struct {
	variable string
	src      string
	path     []string
}

type node struct {
	name     string
	typeName string
	kind     nodeKind
	typ      task.Type
	with     *value // nil: no settings
	after    []constraint
	succLo   int32
	succHi   int32
	outputs  []output
	attempts int
	backoff  time.Duration
	timeout  time.Duration
	disabled bool
	setVars  bool
	items    *expression.Program
	parallel bool
	body     *scope
	// txConn names the connection of a sequence's transaction.
	txConn string
}

// Compile turns a package into a Plan. The package should have passed
// pkgfile.Validate; Compile still reports anything it cannot run (unknown
// types or tasks, cycles, expressions that do not compile), every problem
// at once, instead of panicking.
func Compile(p *pkgfile.Package, types *task.Registry) (*Plan, error) {
	if p == nil {
		return nil, errors.New("compile: no package")
	}
	if types == nil {
		return nil, errors.New("compile: no task registry; pass task.NewRegistry() with the types registered")
	}
	c := &compiler{types: types}
	plan := &Plan{
		name:        p.Name,
		maxParallel: p.MaxParallel,
		timeout:     time.Duration(p.Timeout),
		params:      maps.Clone(p.Parameters),
		varTypes:    make(map[string]pkgfile.Type, len(p.Variables)),
		varInit:     make(map[string]any, len(p.Variables)),
	}
	if p.MaxParallel < 0 {
		c.errf("max_parallel %d: must be 0 (the default) or more", p.MaxParallel)
	}
	if p.Timeout < 0 {
		c.errf("timeout: must not be negative")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Variables)) {
		v := p.Variables[name]
		plan.varTypes[name] = v.Type
		init := v.Default
		if init == nil {
			init = zero(v.Type)
		}
		cv, err := convert(init, v.Type)
		if err != nil {
			c.errf("variable %q: default: %v", name, err)
			continue
		}
		plan.varInit[name] = cv
	}
	c.vars = plan.varTypes
	plan.conns = c.compileConnections(p.Connections)
	c.conns = p.Connections
	plan.root = c.scope(p.Tasks, "")
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("package %q cannot run:\n%w", p.Name, errors.Join(c.errs...))
	}
	return plan, nil
}

type compiler struct {
	types *task.Registry
	vars  map[string]pkgfile.Type
	conns map[string]pkgfile.Connection
	errs  []error
}

func (c *compiler) errf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func mentionsTasks(s string) bool { return strings.Contains(s, expression.Tasks) }

// scope compiles one list of sibling tasks; prefix locates it in messages.
func (c *compiler) scope(tasks []pkgfile.Task, prefix string) *scope {
	sc := &scope{nodes: make([]node, len(tasks))}
	index := make(map[string]int32, len(tasks))
	for i := range tasks {
		name := tasks[i].Name
		if name == "" {
			c.errf("task #%d under %q: has no name; give it one", i+1, strings.TrimSuffix(prefix, "/"))
		}
		if _, dup := index[name]; dup && name != "" {
			c.errf("task %q: the name is used twice in the same scope; rename one", prefix+name)
			continue
		}
		index[name] = int32(i)
	}
	nedges := 0
	for i := range tasks {
		c.node(sc, &sc.nodes[i], &tasks[i], prefix, index)
		nedges += len(sc.nodes[i].after)
	}
	// Successor edges grouped by predecessor, in task order.
	count := make([]int32, len(tasks)+1)
	for i := range sc.nodes {
		for _, k := range sc.nodes[i].after {
			if k.pred >= 0 {
				count[k.pred+1]++
			}
		}
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	sc.edges = make([]edge, count[len(tasks)])
	fill := slices.Clone(count)
	for i := range sc.nodes {
		for ci, k := range sc.nodes[i].after {
			if k.pred >= 0 {
				sc.edges[fill[k.pred]] = edge{to: int32(i), c: int32(ci)}
				fill[k.pred]++
			}
		}
	}
	for i := range sc.nodes {
		sc.nodes[i].succLo, sc.nodes[i].succHi = count[i], count[i+1]
	}
	c.cycles(sc, prefix)
	return sc
}

// cycles reports the tasks of a scope that sit on or behind a cycle
// (Kahn's algorithm: what never becomes ready).
func (c *compiler) cycles(sc *scope, prefix string) {
	waiting := make([]int, len(sc.nodes))
	var ready []int32
	for i := range sc.nodes {
		for _, k := range sc.nodes[i].after {
			if k.pred >= 0 {
				waiting[i]++
			}
		}
		if waiting[i] == 0 {
			ready = append(ready, int32(i))
		}
	}
	seen := 0
	for len(ready) > 0 {
		i := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		seen++
		for _, e := range sc.edges[sc.nodes[i].succLo:sc.nodes[i].succHi] {
			waiting[e.to]--
			if waiting[e.to] == 0 {
				ready = append(ready, e.to)
			}
		}
	}
	if seen == len(sc.nodes) {
		return
	}
	var names []string
	for i := range sc.nodes {
		if waiting[i] > 0 {
			names = append(names, fmt.Sprintf("%q", prefix+sc.nodes[i].name))
		}
	}
	c.errf("tasks %s: their `after` constraints form a cycle; remove one constraint of the loop", strings.Join(names, ", "))
}

func (c *compiler) node(sc *scope, n *node, t *pkgfile.Task, prefix string, index map[string]int32) {
	where := fmt.Sprintf("task %q", prefix+t.Name)
	n.name = t.Name
	n.typeName = t.Type
	n.disabled = t.Disabled
	n.timeout = time.Duration(t.Timeout)
	if t.Timeout < 0 {
		c.errf("%s: timeout: must not be negative", where)
	}
	n.attempts = 1
	if t.Retry != nil {
		if t.Retry.Attempts > 1 {
			n.attempts = t.Retry.Attempts
		}
		if t.Retry.Backoff < 0 {
			c.errf("%s: retry.backoff: must not be negative", where)
		}
		n.backoff = time.Duration(t.Retry.Backoff)
	}

	switch t.Type {
	case Sequence, Foreach:
		n.kind = sequenceNode
		if t.Type == Foreach {
			n.kind = foreachNode
			n.parallel = t.Parallel
			if t.As != "" && t.As != expression.Item {
				c.errf("%s: as %q: expressions see the loop value as `item`; remove `as`", where, t.As)
			}
			if strings.TrimSpace(t.Items) == "" {
				c.errf("%s: foreach needs `items`, a list expression such as '[\"eu\", \"us\"]' or 'params.regions'", where)
			} else if p, err := expression.Compile(t.Items, expression.List); err != nil {
				c.errf("%s: items: %v", where, err)
			} else {
				n.items = p
				sc.needsTasks = sc.needsTasks || mentionsTasks(t.Items)
			}
		}
		if len(t.With) > 0 {
			c.errf("%s: a %s has no settings; remove `with`", where, t.Type)
		}
		if len(t.Outputs) > 0 {
			c.errf("%s: a %s has no outputs; remove `outputs`", where, t.Type)
		}
		if t.Transaction != nil {
			_, declared := c.conns[t.Transaction.Connection]
			switch {
			case t.Type != Sequence:
				c.errf("%s: only a sequence takes a transaction", where)
			case !declared:
				c.errf("%s: transaction: no connection %q in the package", where, t.Transaction.Connection)
			default:
				n.txConn = t.Transaction.Connection
			}
		}
		n.body = c.scope(t.Tasks, prefix+t.Name+"/")
		sc.needsTasks = sc.needsTasks || n.body.needsTasks
	default:
		typ, ok := c.types.Lookup(t.Type)
		if !ok {
			c.errf("%s: unknown type %q (known: %s)", where, t.Type, strings.Join(c.types.Names(), ", "))
		}
		n.typ = typ
		n.setVars = t.Type == SetType
		if len(t.Tasks) > 0 {
			c.errf("%s: only sequence and foreach hold tasks; a %q task cannot", where, t.Type)
		}
		if t.Items != "" || t.Parallel {
			c.errf("%s: `items` and `parallel` belong to foreach", where)
		}
		if t.With != nil {
			v, tasksRef, err := compileValue(t.With, "with")
			if err != nil {
				c.errf("%s: %v", where, err)
			}
			n.with = v
			sc.needsTasks = sc.needsTasks || tasksRef
		}
		for _, name := range slices.Sorted(maps.Keys(t.Outputs)) {
			path := t.Outputs[name]
			if _, ok := c.vars[name]; !ok {
				c.errf("%s: outputs: variable %q is not declared; declare it under variables", where, name)
			}
			if strings.TrimSpace(path) == "" {
				c.errf("%s: outputs.%s: empty path; write a path in the task's output such as \"body.count\"", where, name)
				continue
			}
			n.outputs = append(n.outputs, output{variable: name, src: path, path: strings.Split(path, ".")})
		}
	}

	n.after = make([]constraint, len(t.After))
	for i, a := range t.After {
		k := &n.after[i]
		k.name = a.Task
		k.pred = -1
		k.on = a.On
		if k.on == "" {
			k.on = pkgfile.OnSuccess
		}
		switch k.on {
		case pkgfile.OnSuccess, pkgfile.OnFailure, pkgfile.OnCompletion:
		default:
			c.errf("%s: after[%d]: on %q: write success, failure or completion", where, i, a.On)
		}
		if pi, ok := index[a.Task]; !ok {
			c.errf("%s: after[%d]: no task %q in the same scope", where, i, a.Task)
		} else if a.Task == t.Name {
			c.errf("%s: after[%d]: a task cannot follow itself", where, i)
		} else {
			k.pred = pi
		}
		if a.When != "" {
			p, err := expression.Compile(a.When, expression.Bool)
			if err != nil {
				c.errf("%s: after[%d].when: %v", where, i, err)
			}
			k.when = p
			sc.needsTasks = sc.needsTasks || mentionsTasks(a.When)
		}
	}
}

// value is a compiled setting: a literal, a ${...} template, or a map or
// list that holds templates somewhere inside.
type value struct {
	lit  any
	tpl  *expression.Template
	keys []string
	vals []*value // map entries (keys) or list elements
	kind valueKind
}

type valueKind uint8

const (
	litValue valueKind = iota
	tplValue
	mapValue
	listValue
)

// compileValue compiles every ${...} string in v, recursively. The top
// level (a task's `with`) is always a mapValue so that each attempt gets a
// map of its own. It reports whether any string, template or not, mentions
// `tasks`.
func compileValue(v any, at string) (*value, bool, error) {
	var errs []error
	tasksRef := false
	var walk func(v any, at string, top bool) *value
	walk = func(v any, at string, top bool) *value {
		switch x := v.(type) {
		case string:
			// Plain strings count too: a set task's values are
			// expressions it evaluates through Input.Eval.
			tasksRef = tasksRef || mentionsTasks(x)
			if !strings.Contains(x, "${") {
				return &value{lit: x}
			}
			t, err := expression.ParseTemplate(x)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", at, err))
				return &value{lit: x}
			}
			if t.Literal() { // only $${ escapes
				s, _ := t.Render(expression.Env{})
				return &value{lit: s}
			}
			return &value{tpl: t, kind: tplValue}
		case map[string]any:
			out := &value{kind: mapValue, keys: slices.Sorted(maps.Keys(x))}
			dynamic := false
			for _, k := range out.keys {
				e := walk(x[k], at+"."+k, false)
				dynamic = dynamic || e.kind != litValue
				out.vals = append(out.vals, e)
			}
			if !dynamic && !top {
				return &value{lit: x}
			}
			return out
		case []any:
			out := &value{kind: listValue}
			dynamic := false
			for i, e := range x {
				ev := walk(e, fmt.Sprintf("%s[%d]", at, i), false)
				dynamic = dynamic || ev.kind != litValue
				out.vals = append(out.vals, ev)
			}
			if !dynamic {
				return &value{lit: x}
			}
			return out
		}
		return &value{lit: v}
	}
	out := walk(v, at, true)
	return out, tasksRef, errors.Join(errs...)
}

// render builds the setting's value for one attempt.
func (v *value) render(env expression.Env) (any, error) {
	switch v.kind {
	case tplValue:
		return v.tpl.Render(env)
	case mapValue:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			x, err := v.vals[i].render(env)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case listValue:
		l := make([]any, len(v.vals))
		for i, e := range v.vals {
			x, err := e.render(env)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	}
	return v.lit, nil
}

// program compiles an expression for Input.Eval once per plan.
func (p *Plan) program(src string) (*expression.Program, error) {
	if prog, ok := p.evalCache.Load(src); ok {
		return prog.(*expression.Program), nil
	}
	prog, err := expression.Compile(src, expression.Any)
	if err != nil {
		return nil, err
	}
	if p.evalCached.Add(1) <= maxEvalCache {
		p.evalCache.Store(src, prog)
	}
	return prog, nil
}
