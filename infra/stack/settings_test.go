package stack_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
)

func context(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

func TestSettingsFrom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		context map[string]any
		want    stack.Settings
	}{{
		name:    "defaults",
		context: map[string]any{"iamRoles": "arn:aws:iam::123456789012:role/ops=admin"},
		want: stack.Settings{
			Stage: "dev", Prefix: "scaleout-dev", Pools: []string{"default"},
			IAMRoles: "arn:aws:iam::123456789012:role/ops=admin", BuildDir: "build",
		},
	}, {
		name: "strings from -c",
		context: map[string]any{
			"stage": "prod", "pools": " default, etl ", "buildDir": "out",
			"iamRoles": "arn:aws:iam::1:role/a=admin, arn:aws:iam::1:role/b=reader",
		},
		want: stack.Settings{
			Stage: "prod", Prefix: "scaleout-prod", Pools: []string{"default", "etl"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "out",
		},
	}, {
		name: "JSON from cdk.json",
		context: map[string]any{
			"prefix": "acme_scaleout", "pools": []any{"etl", "default"},
			"iamRoles": map[string]any{"arn:aws:iam::1:role/b": "reader", "arn:aws:iam::1:role/a": "admin"},
		},
		want: stack.Settings{
			Stage: "dev", Prefix: "acme_scaleout", Pools: []string{"etl", "default"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "build",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := stack.SettingsFrom(context(tc.context))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSettingsReportEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := stack.SettingsFrom(context(map[string]any{
		"prefix":   "9 lives",
		"pools":    []any{"ok", 3},
		"iamRoles": "arn:aws:iam::1:role/a=root",
		"stage":    true,
	}))
	require.Error(t, err)
	for _, want := range []string{
		`context "stage": give a string`,
		`context "pools": list pool names as strings`,
		`prefix "9 lives": start it with a letter`,
		`resource prefix "9 lives"`,
		`SCALEOUT_IAM_ROLES entry "arn:aws:iam::1:role/a=root"`,
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestSettingsNeedCallers(t *testing.T) {
	t.Parallel()
	_, err := stack.SettingsFrom(context(nil))
	require.ErrorContains(t, err, "SCALEOUT_AUTH=iam needs SCALEOUT_IAM_ROLES")
	require.ErrorContains(t, err, "-c iamRoles=")
}

func TestNewRefusesInvalidSettings(t *testing.T) {
	t.Parallel()
	// New checks the settings before it defines anything, so no scope is needed.
	_, err := stack.New(nil, "Scaleout", stack.Props{Settings: stack.Settings{Prefix: "scaleout", Pools: []string{"bad pool"}}})
	require.ErrorContains(t, err, `pool "bad pool"`)
	require.ErrorContains(t, err, "no build folder")
}

func ExampleSettingsFrom() {
	// In the app, get is the CDK node's TryGetContext: values given with
	// `cdk synth -c key=value` (make synth STAGE=... POOLS=...) or cdk.json.
	s, err := stack.SettingsFrom(context(map[string]any{
		"stage":    "prod",
		"pools":    "default,etl",
		"iamRoles": "arn:aws:iam::123456789012:role/ops=admin",
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.StackName(), s.Pools, s.BuildDir)
	// Output: scaleout-prod [default etl] build
}
