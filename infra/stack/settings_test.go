package stack_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
)

// context serves m as CDK context; the worker's Dockerfile is at the
// repository root, two folders up from the tests' working directory.
func context(m map[string]any) func(string) any {
	return func(k string) any {
		if v, ok := m[k]; ok || k != stack.ContextSourceDir {
			return v
		}
		return root
	}
}

const root = "../.."

func one(n int) *int { return &n }

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
			SourceDir: root, Workers: map[string]stack.Worker{"default": stack.DefaultWorker},
			LogRetentionDays: 30,
		},
	}, {
		name: "strings from -c",
		context: map[string]any{
			"stage": "prod", "pools": " default, etl ", "buildDir": "out",
			"iamRoles":  "arn:aws:iam::1:role/a=admin, arn:aws:iam::1:role/b=reader",
			"workerCpu": "1024", "workerMemory": "default=2048,etl=4096", "maxTasks": "etl=10",
			"alarmEmail": "ops@example.com", "logRetentionDays": "90", "natGateways": "0",
			"workers": "false",
		},
		want: stack.Settings{
			Stage: "prod", Prefix: "scaleout-prod", Pools: []string{"default", "etl"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "out",
			SourceDir: root, Workers: map[string]stack.Worker{
				"default": {CPU: 1024, MemoryMiB: 2048, Concurrency: 4, MinTasks: 0, MaxTasks: 4},
				"etl":     {CPU: 1024, MemoryMiB: 4096, Concurrency: 4, MinTasks: 0, MaxTasks: 10},
			},
			AlarmEmail: "ops@example.com", LogRetentionDays: 90, NATGateways: one(0),
			NoWorkers: true,
		},
	}, {
		name: "JSON from cdk.json",
		context: map[string]any{
			"prefix": "acme_scaleout", "pools": []any{"etl", "default"},
			"iamRoles":          map[string]any{"arn:aws:iam::1:role/b": "reader", "arn:aws:iam::1:role/a": "admin"},
			"workerConcurrency": float64(8), "minTasks": map[string]any{"etl": float64(1)}, "natGateways": float64(1),
		},
		want: stack.Settings{
			Stage: "dev", Prefix: "acme_scaleout", Pools: []string{"etl", "default"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "build",
			SourceDir: root, Workers: map[string]stack.Worker{
				"default": {CPU: 512, MemoryMiB: 1024, Concurrency: 8, MinTasks: 0, MaxTasks: 4},
				"etl":     {CPU: 512, MemoryMiB: 1024, Concurrency: 8, MinTasks: 1, MaxTasks: 4},
			},
			LogRetentionDays: 30, NATGateways: one(1),
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

func TestWorkerSettingsReportEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := stack.SettingsFrom(context(map[string]any{
		"pools":             "default,etl",
		"iamRoles":          "arn:aws:iam::1:role/a=admin",
		"workerCpu":         "default=300",
		"workerMemory":      "etl=512",
		"workerConcurrency": "0",
		"minTasks":          "5",
		"maxTasks":          "nope=3",
		"logRetentionDays":  "31",
		"natGateways":       "2",
		"alarmEmail":        "ops",
		"sourceDir":         "/nonexistent",
	}))
	require.Error(t, err)
	for _, want := range []string{
		`pool "default": workerCpu=300: Fargate offers 256, 512`,
		`pool "etl": workerMemory=512: with 512 CPU units Fargate offers 1024 to 4096 MiB`,
		`SCALEOUT_WORKER_CONCURRENCY="0"`,
		`pool "etl": minTasks=5, maxTasks=4`,
		`context "maxTasks": "nope" is not one of the pools [default etl]`,
		`context "logRetentionDays": 31 days`,
		`context "natGateways": 2`,
		`context "alarmEmail": "ops"`,
		`no worker Dockerfile in "/nonexistent"`,
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
	_, err := stack.New(nil, "Scaleout", stack.Props{Settings: stack.Settings{Prefix: "scaleout", Pools: []string{"bad pool"}, SourceDir: root}})
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
	fmt.Println(s.StackName(), s.Pools, s.BuildDir, s.Worker("etl"))
	// Output: scaleout-prod [default etl] build {512 1024 4 0 4}
}
