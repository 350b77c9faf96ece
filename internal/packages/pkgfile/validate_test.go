package pkgfile_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestExamplesAreValid(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../../examples/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4)
	for _, f := range files {
		p, err := pkgfile.LoadFile(f, fakeTypes())
		require.NoError(t, err, f)
		require.NotEmpty(t, p.Tasks, f)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	_, err := pkgfile.LoadFile("testdata/invalid.yaml", fakeTypes())
	require.Equal(t, []string{
		`3: name: "bad name": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
		`5: parameters.date.type: unknown type "strin" (known: string, int, float, bool, datetime, list); did you mean "string"?`,
		`5: parameters.date.required: a required parameter with a default is a contradiction: drop one of them`,
		`6: parameters.n.default: want int, got "x"`,
		`7: parameters.api_token.default: want int, got a value of another type`,
		`10: max_parallel: must not be negative, got -1 (0 means the engine's default)`,
		`13: tasks[0] "extract".type: unknown task type "htp" (known: exec, fail, foreach, http, sequence, set, sleep); did you mean "http"?`,
		`14: tasks[0] "extract".after: precedence constraints form a cycle: extract -> transform -> extract; no task of it could ever start`,
		`17: tasks[1] "transform".with: bogus: unknown setting`,
		`17: tasks[1] "transform".with.command[1]: params.dte: no such parameter (declared: api_token, date, n); did you mean "date"?`,
		`17: tasks[1] "transform".with.command[2]: tasks.extrct: no such task in the package; did you mean "extract"?`,
		`17: tasks[1] "transform".with.command[2]: vars.rowz: no such variable (declared: rows); did you mean "rows"?`,
		`18: tasks[1] "transform".after[0]: unknown task "extrct"; did you mean "extract"?`,
		`18: tasks[1] "transform".after[1].on: unknown outcome "falure" (use success, failure or completion; success is the default); did you mean "failure"?`,
		`18: tasks[1] "transform".after[1].when: expression "vars.rows >": unexpected token EOF (1:11) | vars.rows > | ..........^`,
		`19: tasks[1] "transform".outputs.rows: output path "a..b": write a dotted path into the task's result, such as body.count or exit_code`,
		`19: tasks[1] "transform".outputs.rowz: variable "rowz" is not declared: declare it under variables; did you mean "rows"?`,
		`20: tasks[1] "transform".retry.attempts: must be at least 1 (the first attempt counts), got 0`,
		`21: tasks[2] "loop".items: missing: give a list expression, such as '["eu", "us"]' or 'params.regions'`,
		`25: tasks[2] "loop".tasks[0] "a".after: precedence constraints form a cycle: a -> b -> a; no task of it could ever start`,
		`27: tasks[2] "loop".tasks[2] "c".after[0]: a task cannot run after itself`,
		`28: tasks[2] "loop".tasks[3] "c".name: "c" is also the name of tasks[2] "loop".tasks[2] "c": names must be unique within their container`,
		`28: tasks[2] "loop".tasks[3] "c".with.values.rowz: expression "vars.x +": unexpected token EOF (1:8) | vars.x + | .......^`,
		`28: tasks[2] "loop".tasks[3] "c".with.values.rowz: variable "rowz" is not declared: declare it under variables; did you mean "rows"?`,
		`29: tasks[2] "loop".tasks[4] "d e".name: "d e": use 1-128 letters, digits, '-' or '_'`,
		`29: tasks[2] "loop".tasks[4] "d e".after[0]: task "extract" is not in this container (it is at tasks[0] "extract"): constraints join tasks of the same container`,
		`29: tasks[2] "loop".tasks[4] "d e".items: only foreach takes items`,
		`30: tasks[3] "transform".name: "transform" is also the name of tasks[1] "transform": names must be unique within their container`,
		`30: tasks[3] "transform".tasks: a sequence needs tasks`,
		`32: tasks[3] "transform".items: only foreach takes items`,
		`33: tasks[3] "transform".with: a sequence takes no settings: put them on the tasks inside`,
		`36: tasks[4] "loop2".items: params.nope: no such parameter (declared: api_token, date, n)`,
		`37: tasks[4] "loop2".as: "region": expressions see the loop value as item; remove as or write item`,
		`38: tasks[4] "loop2".tasks[0] "x".with: command: want a list, got string`,
		`38: tasks[4] "loop2".tasks[0] "x".tasks: only sequence and foreach hold tasks; "exec" is not a container`,
	}, problemLines(t, err))
	require.NotContains(t, err.Error(), "s3cret", "a sensitive default never appears")

	// Validate alone (no source) reports the same, in the order of the paths.
	p, err := pkgfile.ParseFile("testdata/invalid.yaml")
	require.NoError(t, err)
	err = pkgfile.Validate(p, fakeTypes())
	var ve *pkgfile.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 35)
	require.Equal(t, `name: "bad name": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`, ve.Problems[0].String())
	require.Equal(t, `tasks[4] "loop2".tasks[0] "x".tasks: only sequence and foreach hold tasks; "exec" is not a container`, ve.Problems[34].String())
	for _, p := range ve.Problems {
		require.Zero(t, p.Line)
	}
}

// validPackage is a package with one of each construct, for the cases of
// TestValidate to break one thing at a time.
const validPackage = `
name: ok
parameters:
  date: {type: string, required: true}
  regions: {type: list, default: [eu, us]}
  url: {type: string, default: "http://127.0.0.1:1/x"}
variables:
  rows: {type: int, default: 0}
  region: {type: string}
tasks:
  - name: extract
    type: http
    with: {url: "${params.url}?date=${params.date}", headers: {X-Rows: "${string(vars.rows)}"}}
    outputs: {rows: body.count}
    retry: {attempts: 2, backoff: 1s}
  - name: each
    type: foreach
    items: params.regions
    as: item
    parallel: true
    after: [{task: extract, when: 'vars.rows > 0 && tasks.extract.status == "succeeded"'}]
    tasks:
      - {name: load, type: exec, with: {command: [echo, "${item}", "${vars.region}"]}}
      - name: inner
        type: sequence
        after: [{task: load, on: completion}]
        tasks: [{name: wait, type: sleep, with: {duration: 10ms}}]
  - name: count
    type: set
    after: [{task: each}]
    with: {values: {rows: "vars.rows + len(params.regions)"}}
  - name: alert
    type: fail
    after: [{task: extract, on: failure}, {task: each, on: failure}]
    with: {message: "extract of ${params.date} failed after ${tasks.wait.duration_ms} ms"}
`

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(p *pkgfile.Package)
		want []string // problems; none means valid
	}{
		{name: "valid", edit: func(*pkgfile.Package) {}},
		{name: "no name", edit: func(p *pkgfile.Package) { p.Name = "" },
			want: []string{"name: missing: give the package a name"}},
		{name: "no tasks", edit: func(p *pkgfile.Package) { p.Tasks = nil },
			want: []string{"tasks: a package needs at least one task"}},
		{name: "task without name or type", edit: func(p *pkgfile.Package) { p.Tasks[3] = pkgfile.Task{} },
			want: []string{
				`tasks[3].name: missing: every task needs a name`,
				`tasks[3].type: missing: give a task type (known: exec, fail, foreach, http, sequence, set, sleep)`,
			}},
		{name: "parameter declarations", edit: func(p *pkgfile.Package) {
			p.Parameters["bad-name"] = pkgfile.Parameter{Type: pkgfile.Int}
			p.Parameters["when"] = pkgfile.Parameter{Type: pkgfile.DateTime, Default: "yesterday"}
			p.Parameters["flag"] = pkgfile.Parameter{Type: pkgfile.Bool, Default: "true"}
			p.Parameters["ratio"] = pkgfile.Parameter{Type: pkgfile.Float, Default: 0.5}
			p.Parameters["n"] = pkgfile.Parameter{Type: pkgfile.Int, Default: 2.5}
			p.Parameters["none"] = pkgfile.Parameter{}
			p.Variables["l"] = pkgfile.Variable{Type: pkgfile.List, Default: "eu,us"}
		}, want: []string{
			`parameters.bad-name: name "bad-name": use letters, digits and '_', starting with a letter or '_' (expressions say params.name and vars.name)`,
			`parameters.flag.default: want bool, got "true"`,
			`parameters.n.default: want int, got 2.5`,
			`parameters.none.type: missing: give a type (string, int, float, bool, datetime, list)`,
			`parameters.when.default: want datetime (RFC 3339, for example 2026-11-25T06:00:00Z), got "yesterday"`,
			`variables.l.default: want list (a JSON list such as ["eu", "us"], or eu,us on the command line), got "eu,us"`,
		}},
		{name: "unknown references", edit: func(p *pkgfile.Package) {
			p.Tasks[1].Items = "params.region"
			p.Tasks[1].After[0].When = "vars.row > 0 && tasks.extract.status == 'ok' && tasks.nope.status == 'ok'"
			p.Tasks[2].With["values"] = map[string]any{"rows": "params.x", "other": 1}
		}, want: []string{
			`tasks[1] "each".after[0].when: tasks.nope: no such task in the package`,
			`tasks[1] "each".after[0].when: vars.row: no such variable (declared: region, rows); did you mean "rows"?`,
			`tasks[1] "each".items: params.region: no such parameter (declared: date, regions, url); did you mean "regions"?`,
			`tasks[2] "count".with: values: other: want a string, got int`,
			`tasks[2] "count".with.values.other: variable "other" is not declared: declare it under variables`,
			`tasks[2] "count".with.values.rows: params.x: no such parameter (declared: date, regions, url)`,
		}},
		{name: "expressions that do not compile", edit: func(p *pkgfile.Package) {
			p.Tasks[0].With["url"] = "${params.url"
			p.Tasks[0].With["headers"] = map[string]any{"A": []any{"x", "${1 +}"}}
			p.Tasks[1].Items = "[1, 2"
			p.Tasks[1].After[0].When = `"text"`
		}, want: []string{
			`tasks[0] "extract".with: headers: A: want a string, got []interface {}`,
			`tasks[0] "extract".with.headers.A[1]: expression "1 +": unexpected token EOF (1:3) | 1 + | ..^`,
			`tasks[0] "extract".with.url: "${params.url": "${" at byte 0 has no closing "}"`,
			`tasks[1] "each".after[0].when: expression "\"text\"": expected bool, but got string`,
			`tasks[1] "each".items: expression "[1, 2": unexpected token EOF (1:5) | [1, 2 | ....^`,
		}},
		{name: "containers", edit: func(p *pkgfile.Package) {
			p.Tasks[1].Items = ""
			p.Tasks[1].Tasks[1].Tasks = nil
			p.Tasks[1].Tasks[1].Parallel = true
			p.Tasks[1].Outputs = map[string]string{"rows": "x"}
			p.Tasks[0].As = "x"
		}, want: []string{
			`tasks[0] "extract".as: only foreach takes as`,
			`tasks[1] "each".outputs: a foreach has no result to map into variables: map the outputs of the tasks inside`,
			`tasks[1] "each".items: missing: give a list expression, such as '["eu", "us"]' or 'params.regions'`,
			`tasks[1] "each".tasks[1] "inner".parallel: only foreach takes parallel`,
			`tasks[1] "each".tasks[1] "inner".tasks: a sequence needs tasks`,
			`tasks[3] "alert".with.message: tasks.wait: no such task in the package`,
		}},
		{name: "constraints", edit: func(p *pkgfile.Package) {
			p.Tasks[3].After = append(p.Tasks[3].After,
				pkgfile.Constraint{Task: "extract"}, pkgfile.Constraint{}, pkgfile.Constraint{Task: "load"})
			p.Tasks[0].After = []pkgfile.Constraint{{Task: "count", On: "done"}}
		}, want: []string{
			`tasks[0] "extract".after: precedence constraints form a cycle: extract -> each -> count -> extract; no task of it could ever start`,
			`tasks[0] "extract".after[0].on: unknown outcome "done" (use success, failure or completion; success is the default)`,
			`tasks[3] "alert".after[2]: a second constraint on "extract" (after[0] is the first): join them in one, with a when expression if needed`,
			`tasks[3] "alert".after[3].task: missing: name the task this one runs after`,
			`tasks[3] "alert".after[4]: task "load" is not in this container (it is at tasks[1] "each".tasks[0] "load"): constraints join tasks of the same container`,
		}},
		{name: "limits", edit: func(p *pkgfile.Package) {
			p.MaxParallel = -2
			p.Tasks[0].Retry.Attempts = 101
			p.Tasks[0].Timeout = -1
		}, want: []string{
			`max_parallel: must not be negative, got -2 (0 means the engine's default)`,
			`tasks[0] "extract".retry.attempts: 101, at most 100`,
			`tasks[0] "extract".timeout: must not be negative`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := pkgfile.Parse([]byte(validPackage), "ok.yaml")
			require.NoError(t, err)
			tc.edit(p)
			err = pkgfile.Validate(p, fakeTypes())
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.want, problemStrings(t, err))
		})
	}
}

func problemStrings(t *testing.T, err error) []string {
	t.Helper()
	var ve *pkgfile.ValidationError
	require.ErrorAs(t, err, &ve)
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = p.String()
	}
	return out
}

func TestValidateCycles(t *testing.T) {
	t.Parallel()
	// a -> b -> c -> a and d <-> e, with f hanging off the first cycle.
	p := &pkgfile.Package{Name: "cycles", Tasks: []pkgfile.Task{
		{Name: "f", Type: "fail", After: []pkgfile.Constraint{{Task: "a"}}},
		{Name: "a", Type: "fail", After: []pkgfile.Constraint{{Task: "c"}}},
		{Name: "b", Type: "fail", After: []pkgfile.Constraint{{Task: "a"}}},
		{Name: "c", Type: "fail", After: []pkgfile.Constraint{{Task: "b"}, {Task: "a", On: pkgfile.OnFailure}}},
		{Name: "d", Type: "fail", After: []pkgfile.Constraint{{Task: "e"}}},
		{Name: "e", Type: "fail", After: []pkgfile.Constraint{{Task: "d", On: pkgfile.OnCompletion}}},
	}}
	require.Equal(t, []string{
		`tasks[1] "a".after: precedence constraints form a cycle: a -> c -> a; no task of it could ever start`,
		`tasks[4] "d".after: precedence constraints form a cycle: d -> e -> d; no task of it could ever start`,
	}, problemStrings(t, pkgfile.Validate(p, fakeTypes())))
}

func TestValidateLimits(t *testing.T) {
	t.Parallel()
	wide := &pkgfile.Package{Name: "wide"}
	for i := range pkgfile.MaxTasks + 1 {
		wide.Tasks = append(wide.Tasks, pkgfile.Task{Name: fmt.Sprintf("t%d", i), Type: "fail"})
	}
	require.EqualError(t, pkgfile.Validate(wide, fakeTypes()), "tasks: 10001 tasks, at most 10000: split the package")
	wide.Tasks = wide.Tasks[:pkgfile.MaxTasks]
	require.NoError(t, pkgfile.Validate(wide, fakeTypes()))

	nest := func(depth int) *pkgfile.Package {
		inner := []pkgfile.Task{{Name: "leaf", Type: "fail"}}
		for i := range depth {
			inner = []pkgfile.Task{{Name: fmt.Sprintf("c%d", i), Type: "sequence", Tasks: inner}}
		}
		return &pkgfile.Package{Name: "deep", Tasks: inner}
	}
	require.NoError(t, pkgfile.Validate(nest(pkgfile.MaxDepth), fakeTypes()))
	err := pkgfile.Validate(nest(pkgfile.MaxDepth+1), fakeTypes())
	require.ErrorContains(t, err, "containers nest more than 16 deep: flatten the package")
	require.Len(t, problemStrings(t, err), 1)
}

type panicky struct{ fakeType }

func (panicky) Check(map[string]any) error { panic("boom") }

type joined struct{ fakeType }

func (joined) Check(map[string]any) error {
	return errors.Join(errors.New("a: bad"), errors.Join(errors.New("b: bad"), errors.New("c: bad")))
}

func TestValidateTaskTypes(t *testing.T) {
	t.Parallel()
	r := task.NewRegistry()
	r.MustRegister("panicky", panicky{})
	r.MustRegister("joined", joined{})
	p := &pkgfile.Package{Name: "types", Tasks: []pkgfile.Task{
		{Name: "a", Type: "panicky"}, {Name: "b", Type: "joined"}, {Name: "c", Type: "exec"},
	}}
	require.Equal(t, []string{
		`tasks[0] "a".with: the task type's check failed: boom`,
		`tasks[1] "b".with: a: bad`,
		`tasks[1] "b".with: b: bad`,
		`tasks[1] "b".with: c: bad`,
		`tasks[2] "c".type: unknown task type "exec" (known: foreach, joined, panicky, sequence)`,
	}, problemStrings(t, pkgfile.Validate(p, r)))

	err := pkgfile.Validate(p, nil)
	require.ErrorContains(t, err, `unknown task type "panicky" (known: foreach, sequence)`)
	require.Equal(t, 3, strings.Count(err.Error(), "unknown task type"), err)
}
