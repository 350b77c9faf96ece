package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pkg  string
		errs []string
	}{
		{
			name: "unknown type, listing the known ones",
			pkg:  `{"tasks": [{"name": "copy", "type": "cpy"}]}`,
			errs: []string{`task "copy": unknown type "cpy" (known: boom, count, foreach, noop, ok, panics, peak, sequence, set, shell, slow)`},
		},
		{
			name: "unknown predecessor",
			pkg:  `{"tasks": [{"name": "a", "type": "ok", "after": [{"task": "nope"}]}]}`,
			errs: []string{`task "a": after[0]: no task "nope" in the same scope`},
		},
		{
			name: "a predecessor in another scope",
			pkg: `{"tasks": [{"name": "a", "type": "ok"},
				{"name": "s", "type": "sequence", "tasks": [{"name": "b", "type": "ok", "after": [{"task": "a"}]}]}]}`,
			errs: []string{`task "s/b": after[0]: no task "a" in the same scope`},
		},
		{
			name: "a task after itself",
			pkg:  `{"tasks": [{"name": "a", "type": "ok", "after": [{"task": "a"}]}]}`,
			errs: []string{`task "a": after[0]: a task cannot follow itself`},
		},
		{
			name: "a cycle",
			pkg: `{"tasks": [{"name": "a", "type": "ok", "after": [{"task": "c"}]}, {"name": "b", "type": "ok", "after": [{"task": "a"}]},
				{"name": "c", "type": "ok", "after": [{"task": "b"}]}, {"name": "free", "type": "ok"}]}`,
			errs: []string{`tasks "a", "b", "c": their ` + "`after`" + ` constraints form a cycle`},
		},
		{
			name: "a bad outcome and a when that does not compile",
			pkg:  `{"tasks": [{"name": "a", "type": "ok"}, {"name": "b", "type": "ok", "after": [{"task": "a", "on": "maybe", "when": "vars.x +"}]}]}`,
			errs: []string{`task "b": after[0]: on "maybe": write success, failure or completion`, `task "b": after[0].when: expression "vars.x +"`},
		},
		{
			name: "a template that does not compile, located by field",
			pkg:  `{"tasks": [{"name": "get", "type": "ok", "with": {"headers": {"auth": "Bearer ${params.token"}, "list": ["${1 +}"]}}]}`,
			errs: []string{`task "get": with.headers.auth: "Bearer ${params.token": "${" at byte 7 has no closing "}"`, `with.list[0]: expression "1 +"`},
		},
		{
			name: "foreach without items, with bad items, with as",
			pkg: `{"tasks": [{"name": "f1", "type": "foreach", "tasks": []}, {"name": "f2", "type": "foreach", "items": "[1,", "tasks": []},
				{"name": "f3", "type": "foreach", "items": "[1]", "as": "region", "tasks": []}]}`,
			errs: []string{`task "f1": foreach needs ` + "`items`", `task "f2": items: expression "[1,"`, `task "f3": as "region"`},
		},
		{
			name: "duplicate and empty names",
			pkg:  `{"tasks": [{"name": "a", "type": "ok"}, {"name": "a", "type": "ok"}, {"name": "", "type": "ok"}]}`,
			errs: []string{`task "a": the name is used twice`, `task #3 under "": has no name`},
		},
		{
			name: "outputs to undeclared variables",
			pkg:  `{"tasks": [{"name": "a", "type": "ok", "outputs": {"rows": "body.count", "x": ""}}]}`,
			errs: []string{`task "a": outputs: variable "rows" is not declared`, `outputs.x: empty path`},
		},
		{
			name: "tasks on a leaf, settings on a container",
			pkg: `{"tasks": [{"name": "a", "type": "ok", "tasks": [{"name": "b", "type": "ok"}]},
				{"name": "s", "type": "sequence", "with": {"x": 1}, "outputs": {"v": "x"}}]}`,
			errs: []string{`task "a": only sequence and foreach hold tasks`, `task "s": a sequence has no settings`, `task "s": a sequence has no outputs`},
		},
		{
			name: "a variable default of the wrong type",
			pkg:  `{"variables": {"n": {"type": "int", "default": "many"}}, "tasks": []}`,
			errs: []string{`variable "n": default: "many" is not a whole number`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := Compile(parse(t, tc.pkg), b.reg)
			require.Error(t, err)
			for _, want := range tc.errs {
				require.ErrorContains(t, err, want)
			}
		})
	}
}

func TestCompileNil(t *testing.T) {
	t.Parallel()
	_, err := Compile(nil, setup(t).reg)
	require.ErrorContains(t, err, "no package")
	_, err = Compile(&pkgfile.Package{}, nil)
	require.ErrorContains(t, err, "no task registry")
}

func TestCompileTemplates(t *testing.T) {
	t.Parallel()
	v, tasksRef, err := compileValue(map[string]any{
		"url":     "https://x.test/?d=${params.date}",
		"plain":   "no template",
		"escaped": "cost $${x}",
		"nested":  map[string]any{"lit": []any{1.0, "a"}, "t": []any{"${item}", 2.0}},
		"n":       3.0,
		"prev":    "${tasks.a.status}",
	}, "with")
	require.NoError(t, err)
	require.True(t, tasksRef)
	got, err := v.render(envFor(map[string]any{"date": "2026-11-25"}, "eu", map[string]any{"a": map[string]any{"status": "failed"}}))
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"url":     "https://x.test/?d=2026-11-25",
		"plain":   "no template",
		"escaped": "cost ${x}",
		"nested":  map[string]any{"lit": []any{1.0, "a"}, "t": []any{"eu", 2.0}},
		"n":       3.0,
		"prev":    "failed",
	}, got)
	// A literal top level still gives each attempt a map of its own.
	v, tasksRef, err = compileValue(map[string]any{"a": "b"}, "with")
	require.NoError(t, err)
	require.False(t, tasksRef)
	m1, _ := v.render(envFor(nil, nil, nil))
	m2, _ := v.render(envFor(nil, nil, nil))
	m1.(map[string]any)["a"] = "changed"
	require.Equal(t, "b", m2.(map[string]any)["a"])
}

func TestConvert(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   any
		typ  pkgfile.Type
		want any
		err  string
	}{
		{in: 42.0, typ: pkgfile.Int, want: 42},
		{in: int64(7), typ: pkgfile.Int, want: 7},
		{in: " 12 ", typ: pkgfile.Int, want: 12},
		{in: 1.5, typ: pkgfile.Int, err: "1.5 is not a whole number"},
		{in: "x", typ: pkgfile.Int, err: `"x" is not a whole number`},
		{in: true, typ: pkgfile.Int, err: "a bool cannot become a int"},
		{in: 3, typ: pkgfile.Float, want: 3.0},
		{in: "2.5", typ: pkgfile.Float, want: 2.5},
		{in: "true", typ: pkgfile.Bool, want: true},
		{in: "yes please", typ: pkgfile.Bool, err: "is not true or false"},
		{in: 5, typ: pkgfile.String, want: "5"},
		{in: []any{"a"}, typ: pkgfile.String, want: `["a"]`},
		{in: "2026-11-25T10:00:00Z", typ: pkgfile.DateTime, want: when},
		{in: when, typ: pkgfile.DateTime, want: when},
		{in: "tomorrow", typ: pkgfile.DateTime, err: "not an RFC 3339 time"},
		{in: "[1, \"a\"]", typ: pkgfile.List, want: []any{1.0, "a"}},
		{in: []string{"a", "b"}, typ: pkgfile.List, want: []any{"a", "b"}},
		{in: "nope", typ: pkgfile.List, err: "is not a JSON list"},
		{in: nil, typ: pkgfile.Int, want: 0},
		{in: map[string]any{"k": 1}, typ: "", want: map[string]any{"k": 1}},
	} {
		got, err := convert(tc.in, tc.typ)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%v → %s", tc.in, tc.typ)
			continue
		}
		require.NoError(t, err, "%v → %s", tc.in, tc.typ)
		require.Equal(t, tc.want, got, "%v → %s", tc.in, tc.typ)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	out := map[string]any{"body": map[string]any{"rows": []any{map[string]any{"id": "x"}}, "n": 3},
		"headers": map[string]string{"etag": "e1"}}
	for _, tc := range []struct {
		path string
		want any
		err  string
	}{
		{path: "body.n", want: 3},
		{path: "body.rows.0.id", want: "x"},
		{path: "headers.etag", want: "e1"},
		{path: "body.rows.1", err: "body.rows is a list of 1"},
		{path: "body.n.x", err: "body.n is a int, not an object"},
		{path: "nope", err: `no "nope" in the task's output`},
		{path: "headers.x", err: `no "x" in headers`},
	} {
		got, err := lookup(out, splitPath(tc.path))
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.path)
			continue
		}
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
}
