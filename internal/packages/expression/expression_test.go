package expression

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func env() Env {
	return Env{
		Params: map[string]any{"date": "2026-11-25", "batch_size": 1000, "regions": []any{"eu", "us"}},
		Vars:   map[string]any{"rows": 42},
		Tasks:  map[string]any{"extract": map[string]any{"status": "succeeded", "outputs": map[string]any{"n": 3}}},
		Item:   "eu",
	}
}

func TestCompileAndEval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		kind Kind
		want any
		refs []Ref
		err  string
	}{
		{src: "vars.rows > 0", kind: Bool, want: true, refs: []Ref{{Vars, "rows"}}},
		{src: `tasks.extract.status == "succeeded" && params.batch_size >= 1000`, kind: Bool, want: true,
			refs: []Ref{{Params, "batch_size"}, {Tasks, "extract"}}},
		{src: `["eu", "us"]`, kind: List, want: []any{"eu", "us"}},
		{src: "params.regions", kind: List, want: []any{"eu", "us"}, refs: []Ref{{Params, "regions"}}},
		{src: `item + "-x"`, kind: Any, want: "eu-x"},
		{src: "params.batch_size * 2", kind: Any, want: 2000, refs: []Ref{{Params, "batch_size"}}},
		{src: "vars.rows +", kind: Any, err: "unexpected token"},
		{src: "", kind: Any, err: "empty expression"},
		{src: `"text"`, kind: Bool, err: "expected bool"},
		{src: "nosuch.thing", kind: Any, err: "unknown name nosuch"},
	} {
		p, err := Compile(tc.src, tc.kind)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.src)
			continue
		}
		require.NoError(t, err, tc.src)
		require.Equal(t, tc.refs, p.Refs(), tc.src)
		got, err := p.Eval(env())
		require.NoError(t, err, tc.src)
		require.Equal(t, tc.want, got, tc.src)
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	p, err := Compile("params.date", List)
	require.NoError(t, err)
	_, err = p.EvalList(env())
	require.ErrorContains(t, err, "want a list")

	p, err = Compile("params.missing > 1", Bool)
	require.NoError(t, err)
	_, err = p.EvalBool(env())
	require.Error(t, err)
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    any
		literal bool
		err     string
	}{
		{in: "plain", want: "plain", literal: true},
		{in: "", want: "", literal: true},
		{in: "https://x.test/sales?date=${params.date}", want: "https://x.test/sales?date=2026-11-25"},
		{in: "${params.batch_size}", want: 1000},
		{in: "n=${vars.rows}, r=${params.regions}", want: `n=42, r=["eu","us"]`},
		{in: `${ {"a": 1}.a }`, want: 1},
		{in: `${ "}" + item }`, want: "}eu"},
		{in: "cost: $${not} ${item}", want: "cost: ${not} eu"},
		{in: "${params.date", err: "no closing"},
		{in: "${1 +}", err: "expression"},
	} {
		tpl, err := ParseTemplate(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.literal, tpl.Literal(), tc.in)
		got, err := tpl.Render(env())
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"${params.x}", "a${1+2}b", "$${x}", "${", "${ {\"}\": 1} }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		_, _ = tpl.Render(env())
	})
}

func TestSystem(t *testing.T) {
	t.Parallel()
	env := Env{System: SystemInfo{ExecutionID: "01a2-x", Attempt: 2, Package: "load", StartedAt: "2026-11-25T10:00:00Z"}}
	p, err := Compile(`system.execution_id + "#" + string(system.attempt)`, Any)
	require.NoError(t, err)
	require.Empty(t, p.Refs(), "system is no param, var or task")
	v, err := p.Eval(env)
	require.NoError(t, err)
	require.Equal(t, "01a2-x#2", v)

	p, err = Compile(`system.attempt > 1 && system.package == "load"`, Bool)
	require.NoError(t, err)
	v, err = p.Eval(env)
	require.NoError(t, err)
	require.Equal(t, true, v)

	_, err = Compile(`system.execution_guid`, Any)
	require.ErrorContains(t, err, "system has execution_id, attempt")
}
