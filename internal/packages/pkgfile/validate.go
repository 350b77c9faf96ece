package pkgfile

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Limits on what a package may hold.
const (
	// MaxTasks is the most tasks a package may hold, containers and the
	// tasks inside them included.
	MaxTasks = 10_000
	// MaxDepth is how deep containers may nest.
	MaxDepth = 16
	// MaxAttempts is the most attempts a retry policy may ask for.
	MaxAttempts = 100
)

// The containers the engine itself runs.
const (
	Sequence = "sequence"
	ForEach  = "foreach"
)

var (
	// packageName is execution.ValidName's rule, so that a package's name
	// can name the deployed package.
	packageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	taskName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// identifier names parameters and variables, so that expressions can
	// say params.name and vars.name.
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	outputPath = regexp.MustCompile(`^[^.\s]+(\.[^.\s]+)*$`)
)

// Validate checks what a parsed package means before anything runs and
// reports every problem at once, each with its location, in a
// *ValidationError sorted by location. It checks:
//
//   - the package's name, and its parameter and variable declarations
//     (well-formed names, known types, defaults of the declared type, no
//     required parameter with a default);
//   - each task: a unique, well-formed name within its container, a known
//     type (types lists the registered ones; nil means none), the type's own
//     Check of `with`, containers (sequence needs tasks; foreach needs a
//     list expression in items and tasks; other types hold neither), retry
//     attempts, outputs into declared variables;
//   - precedence constraints: they join tasks of the same container, `on`
//     is success, failure or completion, `when` is a boolean expression,
//     and they form no cycle;
//   - every expression (when, items, the values of set tasks, and each
//     ${...} in any string in `with`) compiles and names only declared
//     parameters (params.X), declared variables (vars.X) and tasks of the
//     package (tasks.X); a set task's values are keyed by declared
//     variables;
//   - limits: at most MaxTasks tasks and MaxDepth nested containers;
//   - connections: a known kind, the fields it needs and no field of the
//     other kinds, literal ports and path_style, interpolations of params
//     and system only (connections are resolved when the run starts), a
//     password that comes from sensitive parameters (a literal one is
//     refused); a task whose type names a connection (task.ConnectionUser)
//     names one the package defines, of a kind the type works with, in
//     with.connection and in with.to_connection (an s3 copy's or move's
//     other bucket) alike; a
//     sequence's transaction names a database connection.
//
// A foreach's `as`, when it is not "item", names a declared variable that
// each iteration sets to its item (as SSIS maps a Foreach Loop's value to a
// variable); `item` is always the current item.
func Validate(p *Package, types *task.Registry) error {
	ps := &problems{}
	validate(p, types, ps)
	return ps.err("")
}

type validator struct {
	p     *Package
	types *task.Registry
	ps    *problems
	known string // the task types, for messages
	// tasks maps every task name in the package to where it is.
	tasks  map[string][]path
	params []string
	vars   []string
	count  int
}

func validate(p *Package, types *task.Registry, ps *problems) {
	if p == nil {
		ps.add(nil, "no package")
		return
	}
	if types == nil {
		types = task.NewRegistry()
	}
	v := &validator{
		p: p, types: types, ps: ps,
		known:  strings.Join(types.Names(), ", "),
		tasks:  map[string][]path{},
		params: slices.Sorted(maps.Keys(p.Parameters)),
		vars:   slices.Sorted(maps.Keys(p.Variables)),
	}
	switch {
	case p.Name == "":
		ps.add(path{}.key("name"), "missing: give the package a name")
	case !packageName.MatchString(p.Name):
		ps.add(path{}.key("name"), "%q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", clip(p.Name))
	}
	for _, name := range v.params {
		decl := p.Parameters[name]
		at := path{}.key("parameters").key(name)
		v.declaration(at, name, decl.Type, decl.Default, decl.Sensitive)
		if decl.Required && decl.Default != nil {
			ps.add(at.key("required"), "a required parameter with a default is a contradiction: drop one of them")
		}
	}
	for _, name := range v.vars {
		decl := p.Variables[name]
		v.declaration(path{}.key("variables").key(name), name, decl.Type, decl.Default, false)
	}
	if p.MaxParallel < 0 {
		ps.add(path{}.key("max_parallel"), "must not be negative, got %d (0 means the engine's default)", p.MaxParallel)
	}
	if p.Timeout < 0 {
		ps.add(path{}.key("timeout"), "must not be negative")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Connections)) {
		v.connection(path{}.key("connections").key(name), name, p.Connections[name])
	}
	tasksAt := path{}.key("tasks")
	if len(p.Tasks) == 0 {
		ps.add(tasksAt, "a package needs at least one task")
		return
	}
	v.collect(p.Tasks, tasksAt, 0)
	if v.count > MaxTasks {
		ps.add(tasksAt, "%d tasks, at most %d: split the package", v.count, MaxTasks)
		return
	}
	v.scope(p.Tasks, tasksAt, 0)
}

func (v *validator) declaration(at path, name string, t Type, def any, sensitive bool) {
	if !identifier.MatchString(name) {
		v.ps.add(at, "name %q: use letters, digits and '_', starting with a letter or '_' (expressions say params.name and vars.name)", clip(name))
	}
	switch {
	case t == "":
		v.ps.add(at.key("type"), "missing: give a type (%s)", typeNames())
	case !slices.Contains(Types, t):
		v.ps.add(at.key("type"), "unknown type %q (known: %s)%s", clip(string(t)), typeNames(), didYouMean(string(t), strings.Split(typeNames(), ", ")))
	case def != nil:
		if _, ok := convert(t, def); !ok {
			v.ps.add(at.key("default"), "%s", mismatch(t, def, sensitive))
		}
	}
}

// collect records every task's name and counts them, down to MaxDepth.
func (v *validator) collect(tasks []Task, at path, depth int) {
	for i, t := range tasks {
		v.count++
		tp := at.index(i, clip(t.Name))
		if t.Name != "" {
			v.tasks[t.Name] = append(v.tasks[t.Name], tp)
		}
		if len(t.Tasks) > 0 && depth < MaxDepth && v.count <= MaxTasks {
			v.collect(t.Tasks, tp.key("tasks"), depth+1)
		}
	}
}

// scope checks the tasks of one container (or of the package) and the
// precedence constraints between them.
func (v *validator) scope(tasks []Task, at path, depth int) {
	index := map[string]int{}
	for i, t := range tasks {
		tp := at.index(i, clip(t.Name))
		switch {
		case t.Name == "":
			v.ps.add(tp.key("name"), "missing: every task needs a name")
		case !taskName.MatchString(t.Name):
			v.ps.add(tp.key("name"), "%q: use 1-128 letters, digits, '-' or '_'", clip(t.Name))
		}
		if j, dup := index[t.Name]; dup && t.Name != "" {
			v.ps.add(tp.key("name"), "%q is also the name of %s: names must be unique within their container", clip(t.Name), at.index(j, clip(t.Name)))
		} else {
			index[t.Name] = i
		}
		v.task(t, tp, depth)
	}
	// Precedence constraints: edges from the task waited for to the task
	// that waits.
	edges := make([][]int, len(tasks))
	for i, t := range tasks {
		tp := at.index(i, clip(t.Name))
		waits := map[string]int{}
		for k, c := range t.After {
			cp := tp.key("after").index(k, "")
			if c.On != "" && c.On != OnSuccess && c.On != OnFailure && c.On != OnCompletion {
				v.ps.add(cp.key("on"), "unknown outcome %q (use success, failure or completion; success is the default)%s",
					clip(string(c.On)), didYouMean(string(c.On), []string{"success", "failure", "completion"}))
			}
			if c.When != "" {
				v.expr(cp.key("when"), c.When, expression.Bool)
			}
			j, ok := index[c.Task]
			switch {
			case c.Task == "":
				v.ps.add(cp.key("task"), "missing: name the task this one runs after")
				continue
			case c.Task == t.Name:
				v.ps.add(cp, "a task cannot run after itself")
				continue
			case !ok:
				v.ps.add(cp, "%s", v.unknownSibling(c.Task, tasks))
				continue
			}
			if k0, dup := waits[c.Task]; dup {
				v.ps.add(cp, "a second constraint on %q (after[%d] is the first): join them in one, with a when expression if needed", clip(c.Task), k0)
				continue
			}
			waits[c.Task] = k
			edges[j] = append(edges[j], i)
		}
	}
	for _, cycle := range cycles(edges) {
		names := make([]string, len(cycle))
		for k, i := range cycle {
			names[k] = tasks[i].Name
		}
		names = append(names, tasks[cycle[0]].Name)
		v.ps.add(at.index(cycle[0], clip(tasks[cycle[0]].Name)).key("after"),
			"precedence constraints form a cycle: %s; no task of it could ever start", strings.Join(names, " -> "))
	}
}

func (v *validator) unknownSibling(name string, siblings []Task) string {
	if where := v.tasks[name]; len(where) > 0 {
		return fmt.Sprintf("task %q is not in this container (it is at %s): constraints join tasks of the same container", clip(name), where[0])
	}
	names := make([]string, 0, len(siblings))
	for _, s := range siblings {
		names = append(names, s.Name)
	}
	return fmt.Sprintf("unknown task %q%s", clip(name), didYouMean(name, names))
}

func (v *validator) task(t Task, at path, depth int) {
	if t.Timeout < 0 {
		v.ps.add(at.key("timeout"), "must not be negative")
	}
	if r := t.Retry; r != nil {
		switch {
		case r.Attempts < 1:
			v.ps.add(at.key("retry").key("attempts"), "must be at least 1 (the first attempt counts), got %d", r.Attempts)
		case r.Attempts > MaxAttempts:
			v.ps.add(at.key("retry").key("attempts"), "%d, at most %d", r.Attempts, MaxAttempts)
		}
		if r.Backoff < 0 {
			v.ps.add(at.key("retry").key("backoff"), "must not be negative")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Outputs)) {
		op := at.key("outputs").key(name)
		if _, ok := v.p.Variables[name]; !ok {
			v.ps.add(op, "variable %q is not declared: declare it under variables%s", clip(name), didYouMean(name, v.vars))
		}
		if !outputPath.MatchString(t.Outputs[name]) {
			v.ps.add(op, "output path %q: write a dotted path into the task's result, such as body.count or exit_code", clip(t.Outputs[name]))
		}
	}
	switch {
	case t.Type == "":
		v.ps.add(at.key("type"), "missing: give a task type (known: %s)", v.known)
		return
	case task.IsContainer(t.Type):
		v.container(t, at, depth)
		return
	}
	typ, ok := v.types.Lookup(t.Type)
	if !ok {
		v.ps.add(at.key("type"), "unknown task type %q (known: %s)%s", clip(t.Type), v.known, didYouMean(t.Type, v.types.Names()))
	}
	if len(t.Tasks) > 0 {
		v.ps.add(at.key("tasks"), "only sequence and foreach hold tasks; %q is not a container", clip(t.Type))
	}
	v.foreachOnly(t, at)
	if t.Transaction != nil {
		v.ps.add(at.key("transaction"), "only a sequence takes a transaction (an sql task takes with.transaction: true)")
	}
	v.settings(t, at.key("with"))
	if ok {
		for _, c := range check(typ, t.With) {
			v.ps.add(withPath(at.key("with"), t.With, c.path), "%s", c.msg)
		}
		if user, uses := typ.(task.ConnectionUser); uses {
			for _, setting := range connectionSettings {
				v.usesConnection(t, setting, at.key("with").key(setting), user.ConnectionKinds())
			}
		}
		if namer, names := typ.(task.ConnectionNamer); names {
			v.namedConnections(t, at.key("with"), namer)
		}
	}
}

func (v *validator) foreachOnly(t Task, at path) {
	if t.Items != "" {
		v.ps.add(at.key("items"), "only foreach takes items")
	}
	if t.Parallel {
		v.ps.add(at.key("parallel"), "only foreach takes parallel")
	}
	if t.As != "" {
		v.ps.add(at.key("as"), "only foreach takes as")
	}
}

func (v *validator) container(t Task, at path, depth int) {
	if len(t.With) > 0 {
		v.ps.add(at.key("with"), "a %s takes no settings: put them on the tasks inside", t.Type)
	}
	if len(t.Outputs) > 0 {
		v.ps.add(at.key("outputs"), "a %s has no result to map into variables: map the outputs of the tasks inside", t.Type)
	}
	if t.Type == Sequence {
		v.foreachOnly(t, at)
		if t.Transaction != nil {
			v.transaction(t, at.key("transaction"))
		}
	} else {
		if t.Transaction != nil {
			v.ps.add(at.key("transaction"), "only a sequence takes a transaction: put the loop's body in a sequence with one")
		}
		if t.Items == "" {
			v.ps.add(at.key("items"), `missing: give a list expression, such as '["eu", "us"]' or 'params.regions'`)
		} else {
			v.expr(at.key("items"), t.Items, expression.List)
		}
		if t.As != "" && t.As != expression.Item {
			v.ps.add(at.key("as"), "%q: expressions see the loop value as item; remove as or write item", clip(t.As))
		}
	}
	switch {
	case len(t.Tasks) == 0:
		v.ps.add(at.key("tasks"), "a %s needs tasks", t.Type)
	case depth+1 > MaxDepth:
		v.ps.add(at.key("tasks"), "containers nest more than %d deep: flatten the package", MaxDepth)
	default:
		v.scope(t.Tasks, at.key("tasks"), depth+1)
	}
}

// settings checks every ${...} interpolation in a task's settings, and the
// variables and expressions of a set task's values.
func (v *validator) settings(t Task, at path) {
	for _, k := range slices.Sorted(maps.Keys(t.With)) {
		val := t.With[k]
		if t.Type == "set" && k == "values" {
			if m, ok := val.(map[string]any); ok {
				v.setValues(m, at.key(k))
				continue
			}
		}
		v.interpolations(val, at.key(k))
	}
}

func (v *validator) setValues(m map[string]any, at path) {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		vp := at.key(name)
		if _, ok := v.p.Variables[name]; !ok {
			v.ps.add(vp, "variable %q is not declared: declare it under variables%s", clip(name), didYouMean(name, v.vars))
		}
		if src, ok := m[name].(string); ok {
			v.expr(vp, src, expression.Any)
		}
	}
}

func (v *validator) interpolations(val any, at path) {
	switch x := val.(type) {
	case string:
		if !strings.Contains(x, "${") {
			return
		}
		tpl, err := expression.ParseTemplate(x)
		if err != nil {
			v.ps.add(at, "%s", err)
			return
		}
		v.refs(at, tpl.Refs())
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			v.interpolations(x[k], at.key(k))
		}
	case []any:
		for i, e := range x {
			v.interpolations(e, at.index(i, ""))
		}
	}
}

func (v *validator) expr(at path, src string, kind expression.Kind) {
	prog, err := expression.Compile(src, kind)
	if err != nil {
		v.ps.add(at, "%s", err)
		return
	}
	v.refs(at, prog.Refs())
}

func (v *validator) refs(at path, refs []expression.Ref) {
	for _, r := range refs {
		switch r.Root {
		case expression.Params:
			if _, ok := v.p.Parameters[r.Name]; !ok {
				v.ps.add(at, "params.%s: no such parameter%s", clip(r.Name), declaredList(r.Name, v.params))
			}
		case expression.Vars:
			if _, ok := v.p.Variables[r.Name]; !ok {
				v.ps.add(at, "vars.%s: no such variable%s", clip(r.Name), declaredList(r.Name, v.vars))
			}
		case expression.Tasks:
			if len(v.tasks[r.Name]) == 0 {
				v.ps.add(at, "tasks.%s: no such task in the package%s", clip(r.Name), didYouMean(r.Name, slices.Sorted(maps.Keys(v.tasks))))
			}
		}
	}
}

// withPath extends at (a task's `with`) by steps, keys and list indexes
// into with; a list element that is an object with a name is labelled
// with it, as tasks are (components[1] "derive").
func withPath(at path, with map[string]any, steps []any) path {
	var cur any = with
	for _, step := range steps {
		switch x := step.(type) {
		case string:
			at = at.key(x)
			m, _ := cur.(map[string]any)
			cur = m[x]
		case int:
			label := ""
			if l, ok := cur.([]any); ok && x >= 0 && x < len(l) {
				cur = l[x]
				if m, ok := cur.(map[string]any); ok {
					label, _ = m["name"].(string)
				}
			} else {
				cur = nil
			}
			at = at.index(x, label)
		}
	}
	return at
}

// checkProblem is one problem a task type's Check found, at path under
// the task's `with` (a *task.FieldError's) or at `with` itself.
type checkProblem struct {
	path []any
	msg  string
}

// check runs a task type's Check, one problem per joined error; a panic
// in it is reported, not raised.
func check(typ task.Type, with map[string]any) (errs []checkProblem) {
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, checkProblem{msg: fmt.Sprintf("the task type's check failed: %v", r)})
		}
	}()
	if with == nil {
		with = map[string]any{}
	}
	var flatten func(err error)
	flatten = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				flatten(e)
			}
			return
		}
		var fe *task.FieldError
		if errors.As(err, &fe) {
			errs = append(errs, checkProblem{path: fe.Path, msg: fe.Error()})
			return
		}
		errs = append(errs, checkProblem{msg: err.Error()})
	}
	flatten(typ.Check(with))
	return errs
}

// cycles finds the precedence cycles of one container: for each strongly
// connected component of more than one task (Tarjan), one cycle through
// its first task, as task indexes.
func cycles(edges [][]int) [][]int {
	n := len(edges)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 0
	var strong func(u int)
	strong = func(u int) {
		index[u], low[u] = next, next
		next++
		stack = append(stack, u)
		onStack[u] = true
		for _, w := range edges[u] {
			if index[w] < 0 {
				strong(w)
				low[u] = min(low[u], low[w])
			} else if onStack[w] {
				low[u] = min(low[u], index[w])
			}
		}
		if low[u] == index[u] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == u {
					break
				}
			}
			if len(comp) > 1 {
				comps = append(comps, comp)
			}
		}
	}
	for u := range n {
		if index[u] < 0 {
			strong(u)
		}
	}
	var out [][]int
	for _, comp := range comps {
		in := map[int]bool{}
		for _, u := range comp {
			in[u] = true
		}
		start := slices.Min(comp)
		out = append(out, shortestCycle(edges, in, start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// shortestCycle finds a shortest path from start back to itself within a
// strongly connected component (breadth first).
func shortestCycle(edges [][]int, in map[int]bool, start int) []int {
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range edges[u] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []int{u}
				for p := prev[u]; p >= 0; p = prev[p] {
					path = append(path, p)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = u
				queue = append(queue, w)
			}
		}
	}
	return []int{start}
}
