package tasktypes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Set is the set task type: it evaluates expressions and hands their
// values to the engine, which writes them into the package's variables.
//
// Settings (with):
//
//	values  required  object: variable name → expression, e.g. {"rows": "tasks.extract.outputs.rows * 2"}
//
// The values are expressions (see package expression: params, vars, tasks,
// item), evaluated with task.Input.Eval; they are not ${...} templates, so
// Check rejects "${" in them. Check compiles each one; whether each name is
// a declared variable is for the package's validator to say.
//
// Output: {"values": {name: value}}. The contract with the engine: when a
// set task succeeds, the engine assigns each entry of output "values" to
// the variable of that name (converting to the variable's type), as if
// the task's `outputs` mapped "values.NAME" to NAME. An expression that
// fails to evaluate is task.ErrPermanent, and no variable is set.
type Set struct{}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func readSet(with map[string]any, check bool) (map[string]string, *settings) {
	s := newSettings(with, check, "values")
	v, ok := s.get("values")
	if !ok {
		s.missing("values", `variable name → expression, e.g. {"rows": "vars.rows + 1"}`)
		return nil, s
	}
	m, ok := asObject(v)
	if !ok {
		s.problem("values", v, `want an object of variable name → expression, e.g. {"rows": "vars.rows + 1"}, not %s`, kind(v))
		return nil, s
	}
	if len(m) == 0 {
		s.problem("values", m, `set at least one variable, e.g. {"rows": "vars.rows + 1"}`)
		return nil, s
	}
	out := make(map[string]string, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		path := "values." + name
		if !identifier.MatchString(name) {
			s.problem("values", name, "not a variable name: use letters, digits and _, not starting with a digit")
			continue
		}
		src, isStr := m[name].(string)
		switch {
		case !isStr:
			s.problem(path, m[name], `want an expression as a string, e.g. "vars.rows + 1"; write a literal string as "'text'"`)
		case check && strings.Contains(src, "${"):
			s.problem(path, src, `write a bare expression, e.g. "params.date" or "'day-' + params.date": set evaluates it itself, ${...} is for other settings`)
		default:
			if _, err := expression.Compile(src, expression.Any); err != nil {
				s.problem(path, src, "%v", err)
				continue
			}
			out[name] = src
		}
	}
	return out, s
}

// Check implements task.Type.
func (Set) Check(with map[string]any) error {
	_, s := readSet(with, true)
	return s.err()
}

// Run implements task.Type.
func (Set) Run(_ context.Context, in task.Input) (task.Output, error) {
	exprs, s := readSet(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	if in.Eval == nil {
		return nil, errors.New("set task: the engine gave no Eval function")
	}
	values := make(map[string]any, len(exprs))
	for _, name := range slices.Sorted(maps.Keys(exprs)) {
		v, err := in.Eval(exprs[name])
		if err != nil {
			return nil, permanent(fmt.Errorf("with.values.%s %s: %w", name, show(exprs[name]), err))
		}
		values[name] = v
	}
	return task.Output{"values": values}, nil
}
