package stack_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

func yes() *bool { b := true; return &b }

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
			"workers": "false", "apiThrottleRate": "50", "apiThrottleBurst": "100", "apiConcurrency": "0",
			"tableDeletionProtection": "false",
		},
		want: stack.Settings{
			Stage: "prod", Prefix: "scaleout-prod", Pools: []string{"default", "etl"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "out",
			SourceDir: root, Workers: map[string]stack.Worker{
				"default": {CPU: 1024, MemoryMiB: 2048, Concurrency: 4, MinTasks: 0, MaxTasks: 4},
				"etl":     {CPU: 1024, MemoryMiB: 4096, Concurrency: 4, MinTasks: 0, MaxTasks: 10},
			},
			AlarmEmail: "ops@example.com", LogRetentionDays: 90, NATGateways: one(0),
			NoWorkers: true, APIThrottleRate: 50, APIThrottleBurst: 100, APIConcurrency: one(0),
			TableDeletionProtection: new(bool),
		},
	}, {
		name: "JSON from cdk.json",
		context: map[string]any{
			"prefix": "acme_scaleout", "pools": []any{"etl", "default"},
			"iamRoles":          map[string]any{"arn:aws:iam::1:role/b": "reader", "arn:aws:iam::1:role/a": "admin"},
			"workerConcurrency": float64(8), "minTasks": map[string]any{"etl": float64(1)}, "natGateways": float64(2),
			"tableDeletionProtection": true, "apiConcurrency": float64(20),
		},
		want: stack.Settings{
			Stage: "dev", Prefix: "acme_scaleout", Pools: []string{"etl", "default"},
			IAMRoles: "arn:aws:iam::1:role/a=admin,arn:aws:iam::1:role/b=reader", BuildDir: "build",
			SourceDir: root, Workers: map[string]stack.Worker{
				"default": {CPU: 512, MemoryMiB: 1024, Concurrency: 8, MinTasks: 0, MaxTasks: 4},
				"etl":     {CPU: 512, MemoryMiB: 1024, Concurrency: 8, MinTasks: 1, MaxTasks: 4},
			},
			LogRetentionDays: 30, NATGateways: one(2), TableDeletionProtection: yes(), APIConcurrency: one(20),
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

func TestSettingsRefuseQueueNamesOverSQSLimit(t *testing.T) {
	t.Parallel()
	prefix, pool := strings.Repeat("p", 40), strings.Repeat("q", 40)
	_, err := stack.SettingsFrom(context(map[string]any{
		"prefix": prefix, "pools": pool, "iamRoles": "arn:aws:iam::1:role/a=admin",
	}))
	dlq := prefix + "-pool-" + pool + "-dlq"
	require.ErrorContains(t, err, fmt.Sprintf("queue name %q is 90 characters, over SQS's limit of 80", dlq))
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
		"natGateways":       "3",
		"apiThrottleRate":   "-1",
		"apiConcurrency":    "-5",
		"workers":           "maybe",
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
		`context "natGateways": 3: give 0 (VPC endpoints only, no internet), 1 (one NAT gateway) or 2 (one in each AZ)`,
		`context "apiThrottleRate"=-1`,
		`context "apiConcurrency": -5`,
		`context "workers": give true or false, got "maybe"`,
		`context "alarmEmail": "ops"`,
		`no worker Dockerfile in "/nonexistent"`,
	} {
		require.ErrorContains(t, err, want)
	}
}

// buildWithWorker is a build folder holding the EC2 workers' binary.
func buildWithWorker(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(stack.WorkerBinary)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, stack.WorkerBinary), []byte("worker"), 0o755))
	return dir
}

func TestEC2AndJWTSettingsFrom(t *testing.T) {
	t.Parallel()
	build := buildWithWorker(t)
	for _, tc := range []struct {
		name    string
		context map[string]any
		want    stack.Settings
	}{{
		name: "strings from -c",
		context: map[string]any{
			"pools": "default,etl", "buildDir": build, "iamRoles": "arn:aws:iam::1:role/a=admin",
			"workerPlatform": "etl=EC2", "instanceType": "etl=m7g.large", "maxTasks": "etl=3",
			"buckets": "etl=landing-bucket  archive.bucket",
			"apiAuth": "jwt", "jwtIssuer": "https://issuer.example.com/", "jwtAudience": " a, b ",
		},
		want: stack.Settings{
			Stage: "dev", Prefix: "scaleout-dev", Pools: []string{"default", "etl"},
			IAMRoles: "arn:aws:iam::1:role/a=admin", BuildDir: build, SourceDir: root,
			Workers: map[string]stack.Worker{
				"default": stack.DefaultWorker,
				"etl": {CPU: 512, MemoryMiB: 1024, Concurrency: 4, MaxTasks: 3, Platform: stack.PlatformEC2, InstanceType: "m7g.large",
					Buckets: []string{"landing-bucket", "archive.bucket"}},
			},
			LogRetentionDays: 30,
			APIAuth:          stack.APIAuthJWT, JWTIssuer: "https://issuer.example.com/", JWTAudience: []string{"a", "b"},
		},
	}, {
		name: "JSON from cdk.json, every pool on EC2",
		context: map[string]any{
			"buildDir": build, "iamRoles": "arn:aws:iam::1:role/a=admin",
			"workerPlatform": "ec2", "jwtAudience": []any{"a"}, "buckets": map[string]any{"default": []any{"raw-files"}}, "jwtIssuer": "https://issuer.example.com", "apiAuth": "jwt",
		},
		want: stack.Settings{
			Stage: "dev", Prefix: "scaleout-dev", Pools: []string{"default"},
			IAMRoles: "arn:aws:iam::1:role/a=admin", BuildDir: build, SourceDir: root,
			Workers: map[string]stack.Worker{"default": {CPU: 512, MemoryMiB: 1024, Concurrency: 4, MaxTasks: 4, Platform: stack.PlatformEC2,
				Buckets: []string{"raw-files"}}},
			LogRetentionDays: 30,
			APIAuth:          stack.APIAuthJWT, JWTIssuer: "https://issuer.example.com", JWTAudience: []string{"a"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := stack.SettingsFrom(context(tc.context))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, "t4g.small", stack.DefaultWorker.Instance())
}

func TestEC2SettingsReportEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := stack.SettingsFrom(context(map[string]any{
		"pools":          "default,etl,gpu",
		"iamRoles":       "arn:aws:iam::1:role/a=admin",
		"buildDir":       t.TempDir(),
		"workerPlatform": "default=ec2,etl=lambda",
		"instanceType":   "default=m7i.large,gpu=t4g.small",
		"buckets":        "etl=Landing ok-bucket,nope=x",
	}))
	require.Error(t, err)
	for _, want := range []string{
		`pool "default": instanceType=m7i.large: give a Graviton (arm64) instance type`,
		`pool "etl": workerPlatform=lambda: give fargate (the default) or ec2`,
		`pool "gpu": instanceType=t4g.small applies to EC2 pools only: add -c workerPlatform=gpu=ec2`,
		`pool "etl": buckets: "Landing" is not an S3 bucket name`,
		`context "buckets": "nope" is not one of the pools`,
		`workerPlatform=ec2 needs the worker binary`,
		`go build -trimpath -ldflags='-s -w' -o `,
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestJWTSettingsSayWhatToSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		context map[string]any
		want    []string
	}{{
		name:    "jwt alone",
		context: map[string]any{"apiAuth": "jwt"},
		want: []string{
			`context "apiAuth" is jwt but no issuer is set: add -c jwtIssuer=https://<issuer>`,
			`context "apiAuth" is jwt but no audience is set: add -c jwtAudience=<audience>`,
		},
	}, {
		name:    "an issuer that is no https URL",
		context: map[string]any{"apiAuth": "jwt", "jwtIssuer": "http://issuer.example.com", "jwtAudience": "a"},
		want:    []string{`context "jwtIssuer": "http://issuer.example.com": give the issuer's https URL`},
	}, {
		name:    "an issuer without apiAuth=jwt",
		context: map[string]any{"jwtIssuer": "https://issuer.example.com"},
		want:    []string{`is set but "apiAuth" is iam: add -c apiAuth=jwt`},
	}, {
		name:    "an unknown mode",
		context: map[string]any{"apiAuth": "oidc"},
		want:    []string{`context "apiAuth": "oidc": give iam (SigV4, the default) or jwt`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.context["iamRoles"] = "arn:aws:iam::1:role/a=admin"
			_, err := stack.SettingsFrom(context(tc.context))
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
		})
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
	w := s.Worker("etl")
	fmt.Println(s.StackName(), s.Pools, s.BuildDir)
	fmt.Println(w.CPU, w.MemoryMiB, w.Concurrency, w.MinTasks, w.MaxTasks, w.EC2())
	// Output:
	// scaleout-prod [default etl] build
	// 512 1024 4 0 4 false
}
