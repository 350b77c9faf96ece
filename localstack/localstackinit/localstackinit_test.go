package localstackinit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/localstack/localstackinit"
)

// Paths from this package's folder, where go test runs.
const (
	resourcesDir = "../init/ready.d/resources"
	hookPath     = "../init/ready.d/scaleout-resources.sh"
	composePath  = "../docker-compose.yml"
	regenerate   = "go generate ./localstack/localstackinit/"
)

func defaultFiles(t *testing.T) map[string][]byte {
	t.Helper()
	set, err := resources.New(resources.DefaultPrefix)
	require.NoError(t, err)
	files, err := localstackinit.Files(set)
	require.NoError(t, err)
	return files
}

func readHook(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(hookPath)
	require.NoError(t, err)
	return string(b)
}

// The committed files are what the Go definitions render, no more, no less.
func TestCommittedFilesAreCurrent(t *testing.T) {
	t.Parallel()
	want := defaultFiles(t)
	paths, err := filepath.Glob(filepath.Join(resourcesDir, "*.json"))
	require.NoError(t, err)
	var got []string
	for _, p := range paths {
		got = append(got, filepath.Base(p))
	}
	require.Equal(t, slices.Sorted(maps.Keys(want)), got,
		"the files in localstack/init/ready.d/resources differ from internal/aws/resources: run `%s` from the repository root", regenerate)
	for _, name := range got {
		b, err := os.ReadFile(filepath.Join(resourcesDir, name))
		require.NoError(t, err)
		require.Equal(t, string(want[name]), string(b),
			"localstack/init/ready.d/resources/%s is out of date: run `%s` from the repository root", name, regenerate)
	}
}

// Each file is what `--cli-input-json` accepts: PascalCase members of the
// operation's input, no nulls, the resource name matching the file name.
func TestFilesAreCLIInput(t *testing.T) {
	t.Parallel()
	members := map[string][]string{
		localstackinit.TablePrefix: {"AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes", "KeySchema", "StreamSpecification", "TableName"},
		localstackinit.TTLPrefix:   {"TableName", "TimeToLiveSpecification"},
		localstackinit.QueuePrefix: {"Attributes", "QueueName"},
	}
	nameKey := map[string]string{
		localstackinit.TablePrefix: "TableName",
		localstackinit.TTLPrefix:   "TableName",
		localstackinit.QueuePrefix: "QueueName",
	}
	for name, b := range defaultFiles(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.True(t, bytes.HasSuffix(b, []byte("}\n")), "ends in a newline")
			require.NotContains(t, string(b), "null")
			var doc map[string]any
			require.NoError(t, json.Unmarshal(b, &doc))
			prefix := ""
			for p := range members {
				if strings.HasPrefix(name, p) {
					prefix = p
				}
			}
			require.NotEmpty(t, prefix, "unknown kind of file")
			for k := range doc {
				require.Contains(t, members[prefix], k)
			}
			resource := strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".json")
			require.Equal(t, resource, doc[nameKey[prefix]])
		})
	}
}

func TestFilesOfTables(t *testing.T) {
	t.Parallel()
	set, err := resources.New("t")
	require.NoError(t, err)
	set.Catalog.Indexes = []resources.Index{{
		Name:         "by-kind",
		PartitionKey: resources.Key{Name: "kind", Type: resources.String},
		SortKey:      &resources.Key{Name: "at", Type: resources.Number},
	}}
	set.Catalog.TTLAttribute = ""

	files, err := localstackinit.Files(set)
	require.NoError(t, err)
	require.NotContains(t, files, "ttl-t-catalog.json", "no TTL attribute, no TTL file")
	require.JSONEq(t, `{"TableName": "t-executions", "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": true}}`,
		string(files["ttl-t-executions.json"]))
	require.JSONEq(t, `{
		"TableName": "t-catalog",
		"BillingMode": "PAY_PER_REQUEST",
		"AttributeDefinitions": [
			{"AttributeName": "at", "AttributeType": "N"},
			{"AttributeName": "kind", "AttributeType": "S"},
			{"AttributeName": "pk", "AttributeType": "S"},
			{"AttributeName": "sk", "AttributeType": "S"}
		],
		"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
		"GlobalSecondaryIndexes": [{
			"IndexName": "by-kind",
			"KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
			"Projection": {"ProjectionType": "ALL"}
		}]
	}`, string(files["table-t-catalog.json"]))

	// bootstrap collects attribute definitions in a map: the output must not
	// depend on its order.
	for range 20 {
		again, err := localstackinit.Files(set)
		require.NoError(t, err)
		require.Equal(t, files, again)
	}
}

func TestFilesOfQueues(t *testing.T) {
	t.Parallel()
	set, err := resources.New("q", "etl", "reports")
	require.NoError(t, err)
	files, err := localstackinit.Files(set)
	require.NoError(t, err)

	for _, pool := range []string{"etl", "reports"} {
		q := set.Pools[pool]
		require.JSONEq(t, fmt.Sprintf(`{"QueueName": %q, "Attributes": {"MessageRetentionPeriod": "1209600"}}`, q.DeadLetter.Name),
			string(files["queue-"+q.DeadLetter.Name+".json"]))
		require.JSONEq(t, fmt.Sprintf(`{"QueueName": %q, "Attributes": {
			"MessageRetentionPeriod": "345600",
			"ReceiveMessageWaitTimeSeconds": "20",
			"VisibilityTimeout": "60",
			"RedrivePolicy": "{\"deadLetterTargetArn\":\"%s\",\"maxReceiveCount\":\"5\"}"
		}}`, q.Name, localstackinit.DLQARNPlaceholder), string(files["queue-"+q.Name+".json"]))
	}
	require.Len(t, files, 4+4)
}

func TestFilesErrors(t *testing.T) {
	t.Parallel()
	// The dead-letter queue of pool "a" is q-pool-a-dlq, the queue of pool "a-dlq".
	clash, err := resources.New("q", "a", "a-dlq")
	require.NoError(t, err)
	_, err = localstackinit.Files(clash)
	require.ErrorContains(t, err, "queue-q-pool-a-dlq.json")

	nested, err := resources.New("q")
	require.NoError(t, err)
	q := nested.Pools[resources.DefaultPool]
	dlq := *q.DeadLetter
	dlq.DeadLetter = &resources.Queue{Name: "q-pool-default-dlq-dlq"}
	q.DeadLetter = &dlq
	nested.Pools[resources.DefaultPool] = q
	_, err = localstackinit.Files(nested)
	require.ErrorContains(t, err, "has a dead-letter queue itself")

	bad, err := resources.New("q")
	require.NoError(t, err)
	bad.Executions.Name = "../x"
	_, err = localstackinit.Files(bad)
	require.ErrorContains(t, err, `"../x"`)
}

// The hook names every generated file, names no other, and pairs each queue
// with its dead-letter queue.
func TestHookNamesEveryFile(t *testing.T) {
	t.Parallel()
	hook := readHook(t)
	files := defaultFiles(t)
	var lines []string
	for l := range strings.Lines(hook) {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	code := strings.Join(lines, "\n")

	for name := range files {
		require.Contains(t, code, " "+name,
			"%s does not create what %s holds: add it (files regenerated with `%s`)", hookPath, name, regenerate)
	}
	for _, ref := range regexp.MustCompile(`[A-Za-z0-9_-]+\.json\b`).FindAllString(code, -1) {
		require.Contains(t, files, ref, "%s names %s, which is not generated", hookPath, ref)
	}

	set, err := resources.New(resources.DefaultPrefix)
	require.NoError(t, err)
	for _, tbl := range set.Tables() {
		require.Contains(t, lines, "ensure_table table-"+tbl.Name+".json")
		require.Contains(t, lines, "ensure_ttl ttl-"+tbl.Name+".json")
	}
	for _, q := range set.Pools {
		require.Contains(t, lines, "ensure_queue_with_dlq queue-"+q.DeadLetter.Name+".json queue-"+q.Name+".json")
	}
	require.Contains(t, lines, "placeholder='"+localstackinit.DLQARNPlaceholder+"'")
}

func TestHookSyntax(t *testing.T) {
	t.Parallel()
	hook := readHook(t)
	require.True(t, strings.HasPrefix(hook, "#!/bin/sh\n"), "LocalStack runs a hook through its shebang")
	info, err := os.Stat(hookPath)
	require.NoError(t, err)
	require.NotZero(t, info.Mode()&0o111, "LocalStack runs only executable hooks: chmod +x %s", hookPath)

	for _, shell := range []string{"bash", "sh"} {
		path, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("no %s here: syntax not checked with it", shell)
			continue
		}
		out, err := exec.Command(path, "-n", hookPath).CombinedOutput()
		require.NoError(t, err, "%s -n %s: %s", shell, hookPath, out)
	}
}

// stubAWSLocal answers like awslocal in a LocalStack where nothing exists yet
// (STUB_MODE=new), where everything exists (existing), or where creating a
// table fails (broken), and logs each call with the files it was given.
const stubAWSLocal = `#!/bin/sh
echo "awslocal $* region=$AWS_DEFAULT_REGION" >>"$STUB_LOG"
input=''
for a in "$@"; do
	case $a in file://*) input=${a#file://} ;; esac
done
if [ -n "$input" ]; then
	echo "input:" >>"$STUB_LOG"
	cat "$input" >>"$STUB_LOG"
fi
case "$1 $2" in
"dynamodb describe-table")
	[ "$STUB_MODE" = existing ] || { echo "ResourceNotFoundException" >&2; exit 254; } ;;
"dynamodb create-table")
	[ "$STUB_MODE" != broken ] || { echo "ValidationException" >&2; exit 254; } ;;
"dynamodb describe-time-to-live")
	if [ "$STUB_MODE" = existing ]; then echo ENABLED; else echo DISABLED; fi ;;
"sqs create-queue")
	[ "$STUB_MODE" != existing ] || { echo "QueueAlreadyExists" >&2; exit 254; }
	echo "http://localhost:4566/000000000000/$(sed -n 's/.*"QueueName": "\([^"]*\)".*/\1/p' "$input")" ;;
"sqs get-queue-url")
	echo "http://localhost:4566/000000000000/$4" ;;
"sqs get-queue-attributes")
	echo "arn:aws:sqs:$AWS_DEFAULT_REGION:000000000000:${4##*/}" ;;
esac
`

// runHook runs the hook with the awslocal stub and returns its exit error and
// the stub's log.
func runHook(t *testing.T, mode string, env ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh here")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "awslocal"), []byte(stubAWSLocal), 0o755))
	logPath := filepath.Join(dir, "calls.log")
	cmd := exec.Command(hookPath)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCALEOUT_") && !strings.HasPrefix(kv, "PATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_LOG="+logPath, "STUB_MODE="+mode)
	cmd.Env = append(cmd.Env, env...)
	out, runErr := cmd.CombinedOutput()
	t.Logf("hook output:\n%s", out)
	calls, err := os.ReadFile(logPath)
	require.NoError(t, err)
	return string(calls), runErr
}

func TestHookCreatesWhatIsMissing(t *testing.T) {
	t.Parallel()
	calls, err := runHook(t, "new")
	require.NoError(t, err)
	files := defaultFiles(t)
	abs, err := filepath.Abs(resourcesDir)
	require.NoError(t, err)

	for _, name := range []string{"table-scaleout-executions.json", "table-scaleout-catalog.json"} {
		require.Contains(t, calls, "awslocal dynamodb create-table --cli-input-json file://"+abs+"/"+name+" ")
	}
	for _, name := range []string{"ttl-scaleout-executions.json", "ttl-scaleout-catalog.json"} {
		require.Contains(t, calls, "awslocal dynamodb update-time-to-live --cli-input-json file://"+abs+"/"+name+" ")
	}
	require.Equal(t, 2, strings.Count(calls, "wait table-exists"))

	// The dead-letter queue first, then the queue, whose RedrivePolicy names
	// the ARN that SQS gave the dead-letter queue.
	dlq := "input:\n" + string(files["queue-scaleout-pool-default-dlq.json"])
	arn := "arn:aws:sqs:us-east-1:000000000000:scaleout-pool-default-dlq"
	queue := "input:\n" + strings.ReplaceAll(string(files["queue-scaleout-pool-default.json"]), localstackinit.DLQARNPlaceholder, arn)
	require.Contains(t, calls, dlq)
	require.Contains(t, calls, queue)
	require.Less(t, strings.Index(calls, dlq), strings.Index(calls, "get-queue-attributes"))
	require.Less(t, strings.Index(calls, "get-queue-attributes"), strings.Index(calls, queue))
	require.NotContains(t, calls, localstackinit.DLQARNPlaceholder)

	for l := range strings.Lines(calls) {
		if strings.HasPrefix(l, "awslocal ") {
			require.True(t, strings.HasSuffix(l, " region=us-east-1\n"), l)
		}
	}
}

func TestHookKeepsWhatExists(t *testing.T) {
	t.Parallel()
	calls, err := runHook(t, "existing", "SCALEOUT_REGION=eu-west-1")
	require.NoError(t, err)
	require.NotContains(t, calls, "create-table")
	require.NotContains(t, calls, "update-time-to-live")
	require.Contains(t, calls, "awslocal sqs get-queue-url --queue-name scaleout-pool-default-dlq ")
	require.Contains(t, calls, "awslocal sqs get-queue-url --queue-name scaleout-pool-default ")
	require.Contains(t, calls, `\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:000000000000:scaleout-pool-default-dlq\"`)
}

func TestHookFailsWhenCreateFails(t *testing.T) {
	t.Parallel()
	calls, err := runHook(t, "broken")
	require.Error(t, err)
	require.NotContains(t, calls, "sqs", "stops at the first failure")
}

type composeFile struct {
	Services map[string]struct {
		Image       string   `yaml:"image"`
		Ports       []string `yaml:"ports"`
		Environment []string `yaml:"environment"`
		Volumes     []string `yaml:"volumes"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(composePath)
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.Unmarshal(b, &f))
	require.Len(t, f.Services, 1)
	ls, ok := f.Services["localstack"]
	require.True(t, ok, "one service, localstack")

	require.Regexp(t, `^localstack/localstack:\d+\.\d+\.\d+$`, ls.Image, "pin a tag: latest exits without an auth token")
	require.Equal(t, []string{"127.0.0.1:4566:4566"}, ls.Ports)
	require.Contains(t, ls.Environment, "LOCALSTACK_AUTH_TOKEN=${LOCALSTACK_AUTH_TOKEN:-}")
	require.Contains(t, ls.Environment, "SERVICES=dynamodb,dynamodbstreams,sqs")

	// The hook's folder is mounted, read-only, where LocalStack looks for
	// ready hooks; relative sources are relative to the compose file.
	var mounted bool
	for _, v := range ls.Volumes {
		src, dst, ok := strings.Cut(v, ":")
		if ok && dst == "/etc/localstack/init/ready.d:ro" {
			mounted = filepath.Join(filepath.Dir(composePath), src) == filepath.Dir(hookPath)
		}
	}
	require.True(t, mounted, "mount %s at /etc/localstack/init/ready.d:ro", filepath.Dir(hookPath))

	require.Len(t, ls.Healthcheck.Test, 2)
	require.Equal(t, "CMD-SHELL", ls.Healthcheck.Test[0])
}

// The healthcheck, run by sh against answers shaped like LocalStack's.
func TestComposeHealthcheck(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	b, err := os.ReadFile(composePath)
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.Unmarshal(b, &f))
	check := f.Services["localstack"].Healthcheck.Test[1]
	require.Contains(t, check, "http://localhost:4566/")

	const (
		healthy  = `{"services": {"dynamodb": "running", "dynamodbstreams": "available", "kinesis": "available", "sqs": "running"}, "edition": "community", "version": "4.14.0"}`
		hookDone = `{"completed": true, "scripts": [{"stage": "READY", "name": "scaleout-resources.sh", "state": "SUCCESSFUL"}]}`
	)
	tests := []struct {
		name          string
		health, ready string
		status        int
		ok            bool
	}{
		{"ready", healthy, hookDone, 200, true},
		{"compact JSON", strings.ReplaceAll(healthy, " ", ""), strings.ReplaceAll(hookDone, " ", ""), 200, true},
		{"sqs failed", strings.Replace(healthy, `"sqs": "running"`, `"sqs": "error"`, 1), hookDone, 200, false},
		{"streams missing", strings.Replace(healthy, `"dynamodbstreams": "available", `, "", 1), hookDone, 200, false},
		{"hook running", healthy, `{"completed": false, "scripts": [{"stage": "READY", "name": "scaleout-resources.sh", "state": "RUNNING"}]}`, 200, false},
		{"hook failed", healthy, `{"completed": true, "scripts": [{"stage": "READY", "name": "scaleout-resources.sh", "state": "ERROR"}]}`, 200, false},
		{"not up", healthy, hookDone, 503, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				switch r.URL.Path {
				case "/_localstack/health":
					fmt.Fprint(w, tt.health)
				case "/_localstack/init/ready":
					fmt.Fprint(w, tt.ready)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			// Compose turns $$ into $ before the shell sees the command.
			cmdline := strings.ReplaceAll(strings.ReplaceAll(check, "$$", "$"), "http://localhost:4566", srv.URL)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := exec.CommandContext(ctx, "sh", "-c", cmdline).Run()
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
