package tasktypes

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFailCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, Fail{}, []checkCase{
		{name: "no settings", with: nil},
		{name: "message", with: obj{"message": "no rows for ${params.date}"}},
		{name: "message a list", with: obj{"message": list("a")}, errs: []string{`with.message ["a"]: want a string, not a list`}},
		{name: "unknown setting", with: obj{"reason": "x"},
			errs: []string{`with.reason: unknown setting (known: message)`}},
	})
}

func TestFailRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		with obj
		want string
	}{
		{name: "default message", with: nil, want: "failed by a fail task: permanent failure"},
		{name: "empty message", with: obj{"message": ""}, want: "failed by a fail task: permanent failure"},
		{name: "own message", with: obj{"message": "no rows for 2024-01-02"}, want: "no rows for 2024-01-02: permanent failure"},
		{name: "number resolved", with: obj{"message": 42}, want: "42: permanent failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, _ := input(tc.with)
			out, err := Fail{}.Run(context.Background(), in)
			require.Nil(t, out)
			require.EqualError(t, err, tc.want)
			require.True(t, errorsIsPermanent(err))
		})
	}
}
