package dataflow

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// Defaults and bounds of a graph's settings.
const (
	DefaultBatchRows   = 10000
	MaxBatchRows       = 1 << 20
	DefaultMemoryLimit = 256 << 20
	DefaultTapRows     = 20
	MaxTapRows         = 1000
)

// Graph is a dataflow task's `with`, decoded.
type Graph struct {
	// BatchRows is batch_rows: the rows per batch sources aim for.
	BatchRows int
	// MemoryLimit is memory_limit in bytes: the Budget blocking
	// components reserve from.
	MemoryLimit int64
	// Tap, when not nil, keeps the first rows of one path in the output.
	Tap *Tap
	// Components are the components, in the order written.
	Components []*ComponentSpec
}

// Tap is `tap: {path: derive, rows: 20}`.
type Tap struct {
	Path string
	Rows int
}

// ComponentSpec is one entry of `components`.
type ComponentSpec struct {
	// Index is its place in `components`.
	Index int
	Name  string
	Type  string
	// Inputs are the paths it reads (`input: p` or `inputs: [p, q]`).
	Inputs   []string
	Settings map[string]any
	OnError  ErrorPolicy
}

// Runtime's own output keys, which component results must not take.
var runtimeKeys = []string{"paths", "rows_read", "rows_written", "rows_rejected", "memory_peak_bytes", "memory_held_peak_bytes", "tap", "components"}

var componentName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// problems collects a graph's problems: each one a *task.FieldError at
// the graph (path nil) or at one component's entry.
type problems struct{ errs []error }

func (ps *problems) graph(err error) {
	if err != nil {
		ps.errs = append(ps.errs, &task.FieldError{Err: err})
	}
}

// graphAll records each of a joined error's problems at the graph.
func (ps *problems) graphAll(err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			ps.graph(e)
		}
		return
	}
	ps.graph(err)
}

// at records problems of component c, each prefixed with its name and
// type; joined errors become one problem each.
func (ps *problems) at(c *ComponentSpec, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			ps.at(c, e)
		}
		return
	}
	ps.errs = append(ps.errs, &task.FieldError{Path: []any{"components", c.Index}, Err: fmt.Errorf("%s: %w", c.label(), err)})
}

func (ps *problems) err() error { return errors.Join(ps.errs...) }

// label is `component "NAME" (TYPE)`, or without the parts not known.
func (c *ComponentSpec) label() string {
	switch {
	case c.Name != "" && c.Type != "":
		return fmt.Sprintf("component %q (%s)", c.Name, c.Type)
	case c.Name != "":
		return fmt.Sprintf("component %q", c.Name)
	}
	return fmt.Sprintf("components[%d]", c.Index)
}

// DecodeGraph reads a dataflow task's `with`; checking is true at
// validation time (strings with ${...} are not known yet). Every problem
// is reported (joined *task.FieldError values).
func DecodeGraph(with map[string]any, checking bool) (*Graph, error) {
	var ps problems
	g := decodeGraph(with, checking, &ps)
	return g, ps.err()
}

func decodeGraph(with map[string]any, checking bool, ps *problems) *Graph {
	s := newSettingsAt("", with, checking)
	g := &Graph{
		BatchRows:   s.Int("batch_rows", DefaultBatchRows, 1, MaxBatchRows),
		MemoryLimit: s.Bytes("memory_limit", DefaultMemoryLimit),
	}
	if t, ok := s.Object("tap"); ok {
		g.Tap = &Tap{Rows: t.Int("rows", DefaultTapRows, 1, MaxTapRows)}
		if p, ok := t.RequiredString("path", "derive.out"); ok {
			g.Tap.Path = p
		}
	}
	raw, ok := s.List("components")
	switch {
	case !ok && !s.Has("components"):
		s.Missing("components", "a list of components, e.g. [{name: read, type: csv_source, settings: {file: in.csv}}, {name: write, type: csv_destination, input: read, settings: {file: out.csv}}]")
	case ok && len(raw) == 0:
		s.Errorf("components", "list at least one component")
	}
	ps.graphAll(s.Err())
	names := map[string]int{}
	for i, r := range raw {
		c := &ComponentSpec{Index: i}
		g.Components = append(g.Components, c)
		m, ok := asObject(r)
		if !ok {
			ps.at(c, fmt.Errorf("want an object with name, type, input(s) and settings, not %s", kind(r)))
			continue
		}
		cs := newSettingsAt("", m, checking)
		c.Name, _ = cs.RequiredString("name", "read")
		c.Type, _ = cs.RequiredString("type", "csv_source")
		if c.Name != "" && !componentName.MatchString(c.Name) {
			cs.Errorf("name", "%q: use letters, digits, _ and - only (a path is NAME.OUTPUT)", c.Name)
		}
		if prev, dup := names[c.Name]; dup && c.Name != "" {
			cs.Errorf("name", "%q is the name of components[%d] already: names are unique", c.Name, prev)
		} else if c.Name != "" {
			names[c.Name] = i
		}
		in, hasIn := cs.String("input")
		ins, hasIns := cs.Strings("inputs")
		switch {
		case cs.Has("input") && cs.Has("inputs"):
			cs.Errorf("inputs", "give input (one path) or inputs (a list), not both")
		case hasIn:
			c.Inputs = []string{in}
		case hasIns:
			c.Inputs = ins
		}
		if set, ok := cs.Raw("settings"); ok {
			if sm, isMap := asObject(set); isMap {
				c.Settings = sm
			} else if !cs.IsPlaceholder(set) {
				cs.Errorf("settings", "want an object, not %s", kind(set))
			}
		}
		c.OnError = ErrorPolicy(cs.Enum("on_error", string(OnErrorFail), string(OnErrorFail), string(OnErrorIgnore), string(OnErrorRedirect)))
		ps.at(c, cs.Err())
	}
	return g
}

// Flow is a planned graph, ready to run (or, while checking, checked).
type Flow struct {
	Graph *Graph
	nodes []*node
	order []*node // producers before consumers
	byKey map[string]*node
	// forRun is true for a flow planned to run (every schema known).
	forRun bool
}

// node is one planned component.
type node struct {
	spec     *ComponentSpec
	typ      Type
	info     Info
	inputs   []*edge
	plan     *Plan
	errCols  *arrow.Schema // the error output's schema, when redirecting
	consumer map[string][]*edge
}

// edge is one input: the producer's output it reads.
type edge struct {
	from   *node
	output string // the producer's output name
	to     *node
	slot   int // the input's index at to
}

func (e *edge) path() string { return e.from.spec.Name + "." + e.output }

// outputNames are a planned node's outputs, the error one included.
func (n *node) outputNames() []string {
	var out []string
	if n.plan != nil {
		for _, o := range n.plan.Outputs {
			out = append(out, o.Name)
		}
	}
	if n.spec.OnError == OnErrorRedirect {
		out = append(out, ErrorOutputName)
	}
	return out
}

// outputSchema is the schema of output name (nil when unknown) and
// whether it is shared.
func (n *node) outputSchema(name string) (*arrow.Schema, bool) {
	if name == ErrorOutputName {
		return n.errCols, false
	}
	if n.plan == nil {
		return nil, false
	}
	for _, o := range n.plan.Outputs {
		if o.Name == name {
			return o.Schema, o.Shared
		}
	}
	return nil, false
}

// planGraph looks the types up, links the paths, orders the graph and
// plans every component; env is nil while checking.
func planGraph(reg *Registry, g *Graph, env *planEnv, ps *problems) *Flow {
	f := &Flow{Graph: g, byKey: map[string]*node{}, forRun: env != nil}
	for _, c := range g.Components {
		n := &node{spec: c, consumer: map[string][]*edge{}}
		f.nodes = append(f.nodes, n)
		if c.Name != "" {
			if _, dup := f.byKey[c.Name]; !dup {
				f.byKey[c.Name] = n
			}
		}
		if c.Type == "" {
			continue
		}
		t, err := reg.Lookup(c.Type)
		if err != nil {
			ps.at(&ComponentSpec{Index: c.Index, Name: c.Name}, err)
			continue
		}
		n.typ = t
		n.info = t.Info()
		switch {
		case n.info.MaxInputs == 0 && len(c.Inputs) > 0:
			ps.at(c, errors.New("input: a source reads no input: remove input/inputs"))
		case len(c.Inputs) < n.info.MinInputs && n.info.MinInputs == 1:
			ps.at(c, errors.New("input: required: the path it reads, e.g. input: read (or read.out)"))
		case len(c.Inputs) < n.info.MinInputs:
			ps.at(c, fmt.Errorf("inputs: list at least %d paths", n.info.MinInputs))
		case n.info.MaxInputs >= 0 && len(c.Inputs) > n.info.MaxInputs:
			ps.at(c, fmt.Errorf("inputs: %d paths, but it takes at most %d", len(c.Inputs), n.info.MaxInputs))
		}
	}
	names := make([]string, 0, len(f.byKey))
	for _, c := range g.Components {
		if f.byKey[c.Name] != nil && !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	// Link inputs to producers (outputs are checked once producers plan).
	for _, n := range f.nodes {
		for slot, p := range n.spec.Inputs {
			comp, out, _ := strings.Cut(p, ".")
			from := f.byKey[comp]
			if from == nil {
				ps.at(n.spec, fmt.Errorf("input %q: no component %q%s (components: %s)", p, comp, didYouMean(comp, names), strings.Join(names, ", ")))
				continue
			}
			if from == n {
				ps.at(n.spec, fmt.Errorf("input %q: a component cannot read its own output", p))
				continue
			}
			n.inputs = append(n.inputs, &edge{from: from, output: out, to: n, slot: slot})
		}
	}
	if !f.orderNodes(ps) {
		return f
	}
	runtime := env != nil
	for _, n := range f.order {
		if n.typ == nil {
			continue
		}
		ins := make([]PlanInput, len(n.inputs))
		ready := len(n.inputs) == len(n.spec.Inputs)
		for i, e := range n.inputs {
			if e.from.plan == nil {
				ready = false
				continue
			}
			if !f.resolveOutput(e, ps) {
				ready = false
				continue
			}
			schema, _ := e.from.outputSchema(e.output)
			ins[i] = PlanInput{Path: e.path(), Schema: schema}
			if schema == nil {
				ready = ready && !runtime
			}
		}
		if !ready && runtime {
			continue // a producer failed: its problem is reported
		}
		if !ready {
			// While checking, plan with what is known (nil schemas).
			for i := range ins {
				if ins[i].Path == "" {
					ins[i].Path = n.spec.Inputs[i]
				}
			}
		}
		n.plan = planOne(n, ins, g, env, ps)
		if n.plan != nil {
			f.checkPlan(n, ins, ps)
		}
	}
	f.checkConsumers(ps)
	f.checkResults(ps)
	if g.Tap != nil && g.Tap.Path != "" {
		f.checkTap(ps)
	}
	return f
}

// resolveOutput fills e.output ("" means the first) and checks that the
// producer has it.
func (f *Flow) resolveOutput(e *edge, ps *problems) bool {
	outs := e.from.outputNames()
	p := e.from.spec.Name
	if e.output != "" {
		p += "." + e.output
	}
	if e.output == "" {
		if len(e.from.plan.Outputs) == 0 {
			ps.at(e.to.spec, fmt.Errorf("input %q: %s has no outputs (it is a destination)", p, e.from.spec.label()))
			return false
		}
		e.output = e.from.plan.Outputs[0].Name
		return true
	}
	if slices.Contains(outs, e.output) {
		return true
	}
	if e.output == ErrorOutputName {
		ps.at(e.to.spec, fmt.Errorf("input %q: %s has no error output: give it on_error: redirect", p, e.from.spec.label()))
		return false
	}
	if len(outs) == 0 {
		ps.at(e.to.spec, fmt.Errorf("input %q: %s has no outputs (it is a destination)", p, e.from.spec.label()))
		return false
	}
	ps.at(e.to.spec, fmt.Errorf("input %q: %s has no output %q%s (outputs: %s)", p, e.from.spec.label(), e.output, didYouMean(e.output, outs), strings.Join(outs, ", ")))
	return false
}

// planOne calls the component's Plan, turning a panic into a problem.
func planOne(n *node, ins []PlanInput, g *Graph, env *planEnv, ps *problems) (plan *Plan) {
	settings := NewSettings(n.spec.Settings, env == nil)
	pc := &PlanContext{Name: n.spec.Name, Type: n.spec.Type, Settings: settings, Inputs: ins, OnError: n.spec.OnError, BatchRows: g.BatchRows, env: env}
	defer func() {
		if r := recover(); r != nil {
			ps.at(n.spec, fmt.Errorf("planning failed: %v", r))
			plan = nil
		}
	}()
	p, err := n.typ.Plan(pc)
	sErr := settings.Err()
	if err != nil || sErr != nil {
		ps.at(n.spec, errors.Join(dedupe(err, sErr)...))
		return nil
	}
	if p == nil {
		ps.at(n.spec, errors.New("planning gave no plan"))
		return nil
	}
	if env != nil && p.Runner == nil {
		ps.at(n.spec, errors.New("planning gave no runner"))
		return nil
	}
	return p
}

// dedupe drops from b the problems a already holds (a Plan that returns
// Settings.Err itself).
func dedupe(a, b error) []error {
	var out []error
	seen := map[string]bool{}
	for _, e := range []error{a, b} {
		if e == nil {
			continue
		}
		list := []error{e}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		}
		for _, x := range list {
			if !seen[x.Error()] {
				seen[x.Error()] = true
				out = append(out, x)
			}
		}
	}
	return out
}

// checkPlan checks what a Plan gave and makes the error output's schema.
func (f *Flow) checkPlan(n *node, ins []PlanInput, ps *problems) {
	seen := map[string]bool{}
	for _, o := range n.plan.Outputs {
		switch {
		case o.Name == "" || o.Name == ErrorOutputName || strings.Contains(o.Name, "."):
			ps.at(n.spec, fmt.Errorf("the component type plans an output named %q: not allowed", o.Name))
		case seen[o.Name]:
			ps.at(n.spec, fmt.Errorf("the component type plans output %q twice", o.Name))
		case o.Schema == nil && f.runtime():
			ps.at(n.spec, fmt.Errorf("output %q has no schema", o.Name))
		}
		seen[o.Name] = true
	}
	if n.spec.OnError != OnErrorRedirect {
		return
	}
	cols := n.plan.ErrorColumns
	if cols == nil {
		switch {
		case len(ins) > 0:
			cols = ins[0].Schema
		case len(n.plan.Outputs) > 0:
			cols = n.plan.Outputs[0].Schema
		}
	}
	if cols == nil {
		return // unknown while checking
	}
	for _, f := range cols.Fields() {
		if f.Name == ErrorComponentColumn || f.Name == ErrorReasonColumn {
			ps.at(n.spec, fmt.Errorf("on_error: redirect adds the column %q, which the rows have already: rename it first", f.Name))
			return
		}
	}
	fields := append(slices.Clone(cols.Fields()),
		arrow.Field{Name: ErrorComponentColumn, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: ErrorReasonColumn, Type: arrow.BinaryTypes.String})
	n.errCols = arrow.NewSchema(fields, nil)
	if n.plan.ErrorColumns == nil {
		n.plan.ErrorColumns = cols
	}
}

func (f *Flow) runtime() bool { return f.forRun }

// checkConsumers enforces one consumer per non-shared output and records
// the consumers.
func (f *Flow) checkConsumers(ps *problems) {
	for _, n := range f.order {
		for _, e := range n.inputs {
			if e.output == "" || e.from.plan == nil {
				continue
			}
			e.from.consumer[e.output] = append(e.from.consumer[e.output], e)
		}
	}
	for _, n := range f.order {
		for _, out := range n.outputNames() {
			cs := n.consumer[out]
			if len(cs) < 2 {
				continue
			}
			if _, shared := n.outputSchema(out); shared {
				continue
			}
			readers := make([]string, len(cs))
			for i, e := range cs {
				readers[i] = fmt.Sprintf("%q", e.to.spec.Name)
			}
			for _, e := range cs[1:] {
				ps.at(e.to.spec, fmt.Errorf("input %q: %s reads it already; an output feeds one input: put a multicast after %q to send the rows to %s", e.path(), readers[0], n.spec.Name, strings.Join(readers, ", ")))
			}
		}
	}
}

// checkResults refuses result keys two components, or a component and the
// runtime, both set.
func (f *Flow) checkResults(ps *problems) {
	owner := map[string]string{}
	for _, n := range f.order {
		if n.plan == nil {
			continue
		}
		for _, k := range n.plan.Results {
			switch {
			case slices.Contains(runtimeKeys, k):
				ps.at(n.spec, fmt.Errorf("result %q is one of the task's own output keys (%s): choose another name", k, strings.Join(runtimeKeys, ", ")))
			case owner[k] != "":
				ps.at(n.spec, fmt.Errorf("result %q is set by component %q already: choose another name", k, owner[k]))
			default:
				owner[k] = n.spec.Name
			}
		}
	}
}

// checkTap checks that the tap's path names a planned output.
func (f *Flow) checkTap(ps *problems) {
	p := f.Graph.Tap.Path
	comp, out, _ := strings.Cut(p, ".")
	n := f.byKey[comp]
	if n == nil {
		names := slices.Collect(func(yield func(string) bool) {
			for _, n := range f.nodes {
				if !yield(n.spec.Name) {
					return
				}
			}
		})
		ps.graph(fmt.Errorf("tap.path %q: no component %q%s", p, comp, didYouMean(comp, names)))
		return
	}
	if n.plan == nil {
		return
	}
	outs := n.outputNames()
	switch {
	case out == "" && len(n.plan.Outputs) == 0:
		ps.graph(fmt.Errorf("tap.path %q: %s has no outputs", p, n.spec.label()))
	case out == "":
		f.Graph.Tap.Path = comp + "." + n.plan.Outputs[0].Name
	case !slices.Contains(outs, out):
		ps.graph(fmt.Errorf("tap.path %q: %s has no output %q%s", p, n.spec.label(), out, didYouMean(out, outs)))
	}
}

// orderNodes sorts the nodes producers first; a cycle is a problem.
func (f *Flow) orderNodes(ps *problems) bool {
	indeg := map[*node]int{}
	next := map[*node][]*node{}
	for _, n := range f.nodes {
		for _, e := range n.inputs {
			indeg[n]++
			next[e.from] = append(next[e.from], n)
		}
	}
	var queue []*node
	for _, n := range f.nodes {
		if indeg[n] == 0 {
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		f.order = append(f.order, n)
		for _, m := range next[n] {
			indeg[m]--
			if indeg[m] == 0 {
				queue = append(queue, m)
			}
		}
	}
	if len(f.order) == len(f.nodes) {
		return true
	}
	var cyc []string
	var first *ComponentSpec
	for _, n := range f.nodes {
		if indeg[n] > 0 {
			if first == nil {
				first = n.spec
			}
			cyc = append(cyc, fmt.Sprintf("%q", n.spec.Name))
		}
	}
	ps.at(first, fmt.Errorf("the paths make a cycle through components %s: a component cannot read, directly or not, its own rows", strings.Join(cyc, ", ")))
	return false
}

// Check validates a dataflow task's `with` before the package runs: the
// graph's shape and every component's Plan in checking mode. Each problem
// is a *task.FieldError naming the component.
func Check(reg *Registry, with map[string]any) error {
	var ps problems
	g := decodeGraph(with, true, &ps)
	planGraph(reg, g, nil, &ps)
	return ps.err()
}
