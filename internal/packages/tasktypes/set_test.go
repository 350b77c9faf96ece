package tasktypes

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestSetCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, Set{}, []checkCase{
		{name: "values", with: obj{"values": obj{"rows": "tasks.extract.outputs.rows * 2", "day": "'d-' + params.date"}}},
		{name: "missing", with: nil, errs: []string{`with.values: required: variable name → expression, e.g. {"rows": "vars.rows + 1"}`}},
		{name: "not an object", with: obj{"values": list("rows")},
			errs: []string{`with.values ["rows"]: want an object of variable name → expression`}},
		{name: "empty", with: obj{"values": obj{}}, errs: []string{`with.values {}: set at least one variable`}},
		{name: "bad name", with: obj{"values": obj{"1rows": "1"}},
			errs: []string{`with.values "1rows": not a variable name`}},
		{name: "number, not an expression", with: obj{"values": obj{"rows": 5.0}},
			errs: []string{`with.values.rows 5: want an expression as a string, e.g. "vars.rows + 1"`}},
		{name: "interpolation", with: obj{"values": obj{"day": "${params.date}"}},
			errs: []string{`with.values.day "${params.date}": write a bare expression, e.g. "params.date"`}},
		{name: "does not compile", with: obj{"values": obj{"rows": "vars.rows +"}},
			errs: []string{`with.values.rows "vars.rows +": expression "vars.rows +":`}},
		{name: "every problem at once", with: obj{"values": obj{"a": "(", "b": list()}, "extra": 1.0},
			errs: []string{`with.extra: unknown setting`, `with.values.a "("`, `with.values.b []`}},
	})
}

func TestSetRun(t *testing.T) {
	t.Parallel()
	vals := map[string]any{"vars.rows + 1": 43, "'d-' + params.date": "d-2024-01-02"}
	eval := func(src string) (any, error) {
		if v, ok := vals[src]; ok {
			return v, nil
		}
		return nil, errors.New("cannot fetch rows from nil")
	}
	for _, tc := range []struct {
		name      string
		with      obj
		eval      func(string) (any, error)
		want      task.Output
		errText   string
		permanent bool
	}{
		{name: "values", with: obj{"values": obj{"rows": "vars.rows + 1", "day": "'d-' + params.date"}}, eval: eval,
			want: task.Output{"values": map[string]any{"rows": 43, "day": "d-2024-01-02"}}},
		{name: "evaluation fails", with: obj{"values": obj{"rows": "tasks.x.outputs.rows"}}, eval: eval,
			errText: `with.values.rows "tasks.x.outputs.rows": cannot fetch rows from nil`, permanent: true},
		{name: "no eval", with: obj{"values": obj{"rows": "1"}},
			errText: "set task: the engine gave no Eval function"},
		{name: "resolved wrong", with: obj{"values": "x"}, eval: eval,
			errText: `with.values "x": want an object`, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, _ := input(tc.with)
			in.Eval = tc.eval
			out, err := Set{}.Run(context.Background(), in)
			if tc.errText != "" {
				require.ErrorContains(t, err, tc.errText)
				require.Equal(t, tc.permanent, errorsIsPermanent(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out)
		})
	}
}
