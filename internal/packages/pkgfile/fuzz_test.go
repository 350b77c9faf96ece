package pkgfile_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// requireProblems checks that err is a *ValidationError with problems and
// a message.
func requireProblems(t *testing.T, err error) {
	t.Helper()
	var ve *pkgfile.ValidationError
	require.ErrorAs(t, err, &ve, "%T %v", err, err)
	require.NotEmpty(t, ve.Problems)
	require.NotEmpty(t, err.Error())
}

// FuzzParseValidate: Parse, Validate and Load never panic, report
// problems as a *ValidationError, and what they accept round-trips through
// JSON, has usable variable defaults and matches the schema.
//
//	go test -run '^$' -fuzz FuzzParseValidate -fuzztime 60s ./internal/packages/pkgfile/
func FuzzParseValidate(f *testing.F) {
	for _, file := range schemaFiles(f) {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data, strings.HasSuffix(file, ".json"))
	}
	f.Add([]byte(validPackage), false)
	f.Add([]byte(paramsPackage), false)
	f.Add([]byte(aliasBomb()), false)
	for _, seed := range []string{
		"name: x\ntasks: [{name: a, type: fail}]\n",
		"name: x\nbase: &b {type: fail}\ntasks: [{<<: *b, name: a}]\n",
		"name: !!str 1\ntimeout: 1h\ntasks:\n- name: a\n  type: sleep\n  with: {duration: 1s}\n  retry: {attempts: 2}\n",
		"name: x\nparameters: {p: {type: list, default: [1, 2.5, true, null, '0x1']}}\ntasks: [{name: a, type: fail}]\n",
		"{\"name\": \"x\", \"tasks\": [{\"name\": \"a\", \"type\": \"fail\", \"with\": {\"message\": \"\\u00e9${1}\"}}]}",
	} {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte(`{"name": "x", "tasks": [{"name": "a", "type": "fail", "after": [{"task": "a"}]}]}`), true)
	schema := compileSchema(f)
	types := fakeTypes()
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "f.yaml"
		if asJSON {
			name = "f.json"
		}
		p, err := pkgfile.Parse(data, name)
		if err != nil {
			requireProblems(t, err)
			return
		}
		loaded, loadErr := pkgfile.Load(data, name, types)
		if err := pkgfile.Validate(p, types); err != nil {
			requireProblems(t, err)
			requireProblems(t, loadErr)
			require.Len(t, problemStrings(t, loadErr), len(problemStrings(t, err)))
			return
		}
		require.NoError(t, loadErr)
		require.Equal(t, p, loaded)

		_, err = pkgfile.InitialVariables(p)
		require.NoError(t, err, "a valid package's variable defaults convert")
		if _, err := pkgfile.Bind(p, nil, nil); err != nil {
			requireProblems(t, err)
		}

		b, err := json.Marshal(p)
		require.NoError(t, err)
		again, err := pkgfile.Load(b, "again.json", types)
		require.NoError(t, err, "%s", b)
		b2, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(b), string(b2))

		doc, err := pkgfile.DocumentValue(data, name)
		require.NoError(t, err)
		require.NoError(t, schema.Validate(doc), "Load accepts it, so the schema must")
	})
}

// FuzzBind: Bind never panics, and the message for a sensitive value that
// does not convert is the same whatever the value, so it cannot hold it.
//
//	go test -run '^$' -fuzz FuzzBind -fuzztime 60s ./internal/packages/pkgfile/
func FuzzBind(f *testing.F) {
	for _, seed := range []struct {
		typ       uint8
		value     string
		sensitive bool
	}{
		{0, "s3cret", true}, {1, "12", false}, {1, "12a", true}, {2, "1e3", true}, {3, "true", false},
		{4, "2026-11-25T06:00:00Z", true}, {5, "eu,us", false}, {5, `["eu", 1]`, true}, {4, "yesterday", true},
	} {
		f.Add(seed.typ, seed.value, seed.sensitive)
	}
	const other = "\x01not-a-value\x01"
	f.Fuzz(func(t *testing.T, typ uint8, value string, sensitive bool) {
		pt := pkgfile.Types[int(typ)%len(pkgfile.Types)]
		p := &pkgfile.Package{Name: "bind", Parameters: map[string]pkgfile.Parameter{
			"p": {Type: pt, Sensitive: sensitive, Required: true},
		}}
		bind := func(given map[string]string, typed map[string]any) (map[string]any, error) {
			values, err := pkgfile.Bind(p, given, typed)
			if err != nil {
				requireProblems(t, err)
			}
			return values, err
		}

		values, err := bind(map[string]string{"p": value}, nil)
		if err == nil {
			secrets := pkgfile.Sensitive(p, values)
			if sensitive && pt == pkgfile.String && value != "" {
				require.Equal(t, pkgfile.Mask, pkgfile.NewRedactor(secrets).Redact(value))
			}
			for _, s := range secrets {
				require.Equal(t, pkgfile.Mask, pkgfile.NewRedactor(secrets).Redact(s), "secret %q", s)
			}
		} else if sensitive {
			_, otherErr := bind(map[string]string{"p": other}, nil)
			if otherErr != nil {
				require.Equal(t, otherErr.Error(), err.Error())
			}
		}

		var typed any
		if json.Unmarshal([]byte(value), &typed) == nil {
			_, err := bind(nil, map[string]any{"p": typed})
			if err != nil && sensitive {
				_, otherErr := bind(nil, map[string]any{"p": []any{other}})
				if otherErr != nil {
					require.Equal(t, otherErr.Error(), err.Error())
				}
			}
		}
	})
}

// FuzzValidate puts fuzzed strings in every place of a package that
// Validate reads, past the parser: names, types, expressions, templates,
// output paths, defaults. What Validate accepts, the schema accepts.
//
//	go test -run '^$' -fuzz FuzzValidate -fuzztime 60s ./internal/packages/pkgfile/
func FuzzValidate(f *testing.F) {
	f.Add("extract", "exec", "vars.rows > 0", "params.p", "${params.p}", "body.count", "item", `["x"]`, "success")
	f.Add("a-1", "foreach", "tasks.a.status == 'failed'", `["eu", "us"]`, "$${x} ${ {\"}\": 1} }", "exit_code", "rows", "[1]", "failure")
	f.Add("s", "sequence", "true", "[]", "x", "a.b", "region", "null", "completion")
	f.Add("", "set", "vars.rows +", "[1, 2", "${1 +}", "a..b", "", "{", "done")
	f.Add("w", "sleep", "vars.rows == 0", "params.p", "1s", "x", "v", "5", "")
	f.Add("h", "http", "vars.v != ''", `["a"]`, "http://x/${vars.rows}", "body.n", "v", `"s"`, "completion")
	f.Add("l", "foreach", "true", "params.p", "${item}", "x", "region", `[1, 2]`, "success")
	types := fakeTypes()
	schema := compileSchema(f)
	f.Fuzz(func(t *testing.T, name, typ, when, items, tmpl, output, as, def, on string) {
		var defValue any
		_ = json.Unmarshal([]byte(def), &defValue)
		with := func(typ string) map[string]any {
			switch typ {
			case "exec":
				return map[string]any{"command": []any{"echo", tmpl}, "env": map[string]any{"X": tmpl}}
			case "http":
				return map[string]any{"url": tmpl, "headers": map[string]any{"A": tmpl}}
			case "set":
				return map[string]any{"values": map[string]any{as: when, "rows": items}}
			case "sleep":
				return map[string]any{"duration": tmpl}
			case "fail":
				return map[string]any{"message": tmpl}
			}
			return map[string]any{"x": tmpl}
		}
		leaf := typ
		if task.IsContainer(typ) {
			leaf = "fail"
		}
		inner := []pkgfile.Task{
			{Name: name, Type: leaf, With: with(leaf), Outputs: map[string]string{as: "status"}},
			{Name: "b", Type: "fail", After: []pkgfile.Constraint{{Task: name, On: pkgfile.Outcome(on), When: when}}},
		}
		outer := pkgfile.Task{Name: name, Type: typ, After: []pkgfile.Constraint{{Task: "a", On: pkgfile.Outcome(on), When: when}}}
		switch typ {
		case "foreach":
			outer.Items, outer.As, outer.Parallel, outer.Tasks = items, as, true, inner
		case "sequence":
			outer.Tasks = inner
		default:
			outer.With, outer.Outputs = with(typ), map[string]string{"rows": output}
		}
		p := &pkgfile.Package{
			Name:       name,
			Parameters: map[string]pkgfile.Parameter{"p": {Type: pkgfile.Types[len(def)%len(pkgfile.Types)], Default: defValue}},
			Variables:  map[string]pkgfile.Variable{"rows": {Type: pkgfile.Int}, as: {Type: pkgfile.String}},
			Tasks:      []pkgfile.Task{{Name: "a", Type: "foreach", Items: items, As: as, Tasks: inner}, outer},
		}
		if err := pkgfile.Validate(p, types); err != nil {
			requireProblems(t, err)
			return
		}
		_, err := pkgfile.InitialVariables(p)
		require.NoError(t, err)
		_, _ = pkgfile.Bind(p, map[string]string{"p": def}, nil)

		b, err := json.Marshal(p)
		require.NoError(t, err)
		doc, err := pkgfile.DocumentValue(b, "p.json")
		require.NoError(t, err)
		require.NoError(t, schema.Validate(doc), "Validate accepts %s, so the schema must", b)
	})
}
