package pkgfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// problemLines returns err's problems as "LINE: path: message".
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, pkgfile.ErrInvalid)
	var ve *pkgfile.ValidationError
	require.ErrorAs(t, err, &ve)
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = fmt.Sprintf("%d: %s", p.Line, p)
	}
	return out
}

func TestParseYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	fromYAML, err := pkgfile.ParseFile("../../../examples/hello.yaml")
	require.NoError(t, err)
	fromJSON, err := pkgfile.ParseFile("testdata/hello.json")
	require.NoError(t, err)
	require.Equal(t, fromYAML, fromJSON)
	require.Equal(t, "hello", fromYAML.Name)
	require.Equal(t, []any{"echo", "hello, ${params.who}"}, fromYAML.Tasks[0].With["command"])

	// JSON is YAML too, and a file without a telling extension is sniffed.
	data, err := os.ReadFile("testdata/hello.json")
	require.NoError(t, err)
	for _, name := range []string{"hello.yaml", "hello", ""} {
		p, err := pkgfile.Parse(data, name)
		require.NoError(t, err, name)
		require.Equal(t, fromJSON, p, name)
	}
}

func TestParseValues(t *testing.T) {
	t.Parallel()
	p, err := pkgfile.Parse([]byte(`
name: values
parameters:
  on: {type: bool, default: yes}
  big: {type: int, default: 0x10}
  when: {type: datetime, default: 2026-11-25T06:00:00Z}
timeout: 1h30m
tasks:
  - &a
    name: a
    type: exec
    with:
      env: {N: "1", y: "2", off: no}
      command: [echo, 1.50, 2e3, null, true]
    after: [{task: b, on: failure}]
    retry: {attempts: 3, backoff: 250ms}
  - <<: *a
    name: b
    after: []
`), "values.yaml")
	require.NoError(t, err)
	require.Equal(t, "yes", p.Parameters["on"].Default)
	require.Equal(t, float64(16), p.Parameters["big"].Default)
	require.Equal(t, "2026-11-25T06:00:00Z", p.Parameters["when"].Default)
	require.Equal(t, pkgfile.Duration(90*time.Minute), p.Timeout)
	a := p.Tasks[0]
	require.Equal(t, map[string]any{"N": "1", "y": "2", "off": "no"}, a.With["env"])
	require.Equal(t, []any{"echo", 1.5, float64(2000), nil, true}, a.With["command"])
	require.Equal(t, []pkgfile.Constraint{{Task: "b", On: pkgfile.OnFailure}}, a.After)
	require.Equal(t, &pkgfile.Retry{Attempts: 3, Backoff: pkgfile.Duration(250 * time.Millisecond)}, a.Retry)
	b := p.Tasks[1]
	require.Equal(t, "b", b.Name)
	require.Equal(t, "exec", b.Type)
	require.Empty(t, b.After)
	require.Equal(t, a.With, b.With)
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, doc string
		want            []string
	}{
		{
			name: "unknown fields and wrong kinds, all at once", file: "p.yaml",
			doc: "nmae: x\nmax_parallel: four\ntimeout: 10 minutes\ntasks:\n  - name: a\n    type: exec\n    retry: {attempts: 1.5, backoff: -1s}\n    after: {task: b}\n    disabled: 'no'\n    outputs: {rows: 5}\n",
			want: []string{
				`1: nmae: unknown field (the fields here are name, description, parameters, variables, connections, max_parallel, timeout, tasks); did you mean "name"?`,
				`2: max_parallel: want a whole number, got "four"`,
				`3: timeout: duration "10 minutes": write it as "30s", "10m" or "1h30m"`,
				`7: tasks[0] "a".retry.attempts: want a whole number written without a decimal point or exponent, got 1.5`,
				`7: tasks[0] "a".retry.backoff: duration "-1s": must not be negative`,
				`8: tasks[0] "a".after: want a list, got an object`,
				`9: tasks[0] "a".disabled: want true or false, got "no"`,
				`10: tasks[0] "a".outputs.rows: want a string, got 5`,
			},
		},
		{
			name: "the same in JSON", file: "p.json",
			doc: "{\"nmae\": \"x\",\n \"max_parallel\": \"four\",\n \"tasks\": [\n  {\"name\": \"a\", \"type\": \"exec\",\n   \"retry\": {\"attempts\": 1.5}}]}",
			want: []string{
				`1: nmae: unknown field (the fields here are name, description, parameters, variables, connections, max_parallel, timeout, tasks); did you mean "name"?`,
				`2: max_parallel: want a whole number, got "four"`,
				`5: tasks[0] "a".retry.attempts: want a whole number written without a decimal point or exponent, got 1.5`,
			},
		},
		{
			name: "null is not a string", file: "p.yaml",
			doc:  "name:\ndescription: ~\ntasks: []\n",
			want: []string{`1: name: want a string, got null`, `2: description: want a string, got null`},
		},
		{
			name: "duplicate keys in YAML", file: "p.yaml",
			doc:  "name: a\ntasks: []\nname: b\n",
			want: []string{`3: name: duplicate key (first at line 1)`},
		},
		{
			name: "duplicate keys in JSON", file: "p.json",
			doc:  "{\"name\": \"a\",\n\"tasks\": [],\n\"name\": \"b\"}",
			want: []string{`3: name: duplicate key (first at line 1)`},
		},
		{
			name: "YAML syntax", file: "p.yaml",
			doc:  "name: a\ntasks:\n  - name: [x\n",
			want: []string{`2: YAML: did not find expected ',' or ']'`},
		},
		{
			name: "JSON syntax", file: "p.json",
			doc:  "{\"name\": \"a\",\n \"tasks\": [}\n",
			want: []string{`2: JSON: invalid character '}' looking for beginning of value`},
		},
		{
			name: "JSON cut short", file: "p.json",
			doc:  "{\"name\": \"a\",\n",
			want: []string{`2: JSON: unexpected end of the file`},
		},
		{
			name: "JSON trailing data", file: "p.json",
			doc:  "{\"name\": \"a\", \"tasks\": []}\n{}",
			want: []string{`2: JSON: unexpected data after the package object`},
		},
		{
			name: "not an object", file: "p.yaml",
			doc:  "- a\n- b\n",
			want: []string{`1: want an object, got a list`},
		},
		{
			name: "empty", file: "p.yaml",
			doc:  "# nothing\n",
			want: []string{`0: the file is empty: a package needs at least a name and tasks`},
		},
		{
			name: "two documents", file: "p.yaml",
			doc:  "name: a\ntasks: []\n---\nname: b\n",
			want: []string{`3: the file holds more than one YAML document: write one package per file`},
		},
		{
			name: "tags and infinities", file: "p.yaml",
			doc: "name: !secret a\ndescription: !!str 12\nparameters: {x: {type: float, default: .inf}}\ntasks: []\n",
			want: []string{
				`1: name: YAML tag !secret is not supported: write a plain value`,
				`3: parameters.x.default: number ".inf": JSON has no infinity or NaN; write a finite number`,
			},
		},
		{
			name: "numbers out of range in JSON", file: "p.json",
			doc: "{\"name\": \"a\",\n \"parameters\": {\"x\": {\"type\": \"float\", \"default\": -1e400}},\n \"tasks\": [{\"name\": \"t\", \"type\": \"exec\",\n  \"with\": {\"command\": [\"true\"], \"n\": 1e400}}]}",
			want: []string{
				`2: parameters.x.default: number -1e400 is out of range: write a finite number (at most about ±1.8e308)`,
				`4: tasks[0].with.n: number 1e400 is out of range: write a finite number (at most about ±1.8e308)`,
			},
		},
		{
			name: "keys must be plain", file: "p.yaml",
			doc:  "name: a\n[x]: 1\ntasks: []\n",
			want: []string{`2: a mapping key must be a plain value, not a list or a mapping`},
		},
		{
			name: "alias bombs are cut off", file: "p.yaml",
			doc:  aliasBomb(),
			want: []string{`1: e[7][0][7][5][2]: YAML aliases expand to more than 100000 values: write the values out, or use fewer aliases`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pkgfile.Parse([]byte(tc.doc), tc.file)
			require.Equal(t, tc.want, problemLines(t, err))
		})
	}
}

// aliasBomb is the billion laughs in YAML.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for _, c := range "bcdefghi" {
		fmt.Fprintf(&b, "%c: &%c [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	return b.String()
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	big := make([]byte, pkgfile.MaxSize+1)
	_, err := pkgfile.Parse(big, "big.yaml")
	require.EqualError(t, err, "big.yaml: the file is larger than 1048576 bytes (1 MiB): split the package or move data out of it")

	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	_, err = pkgfile.Parse([]byte(`{"name": "x", "tasks": `+deep+`}`), "deep.json")
	require.ErrorContains(t, err, "values nest more than 256 deep")
	_, err = pkgfile.Parse([]byte("name: x\ntasks: "+deep), "deep.yaml")
	require.ErrorContains(t, err, "nest")

	// A systematic mistake is reported MaxProblems times, then counted.
	wide := "name: x\ntasks: [" + strings.Repeat("1,", 5000) + "]"
	_, err = pkgfile.Parse([]byte(wide), "wide.yaml")
	var ve *pkgfile.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, pkgfile.MaxProblems+1)
	require.Equal(t, `tasks[0]: want an object, got 1`, ve.Problems[0].String())
	require.Equal(t, "and 4000 more problems: fix these first", ve.Problems[pkgfile.MaxProblems].String())

	dir := t.TempDir()
	file := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(file, big, 0o600))
	_, err = pkgfile.ParseFile(file)
	require.ErrorContains(t, err, "larger than 1048576 bytes")
	_, err = pkgfile.ParseFile(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist, err)
	_, err = pkgfile.LoadFile(filepath.Join(dir, "missing.yaml"), fakeTypes())
	require.ErrorContains(t, err, "package file: open ")
}

func TestValidationErrorFormat(t *testing.T) {
	t.Parallel()
	_, err := pkgfile.Load([]byte("name: x\ntasks:\n  - {name: a, type: exec}\n  - {name: b, type: sleep}\n"), "two.yaml", fakeTypes())
	require.EqualError(t, err, "two.yaml: 2 problems:\n"+
		"\ttwo.yaml:3: tasks[0] \"a\".with: command: required\n"+
		"\ttwo.yaml:4: tasks[1] \"b\".with: duration: required")

	_, err = pkgfile.Load([]byte("name: x\ntasks:\n  - {name: a, type: exec}\n"), "", fakeTypes())
	require.EqualError(t, err, "line 3: tasks[0] \"a\".with: command: required")

	err = pkgfile.Validate(&pkgfile.Package{Name: "x"}, nil)
	require.EqualError(t, err, "tasks: a package needs at least one task")
	err = pkgfile.Validate(nil, nil)
	require.EqualError(t, err, "no package")
}
