package tests

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

// rieVersion pins the Lambda runtime interface emulator (AWS's own).
const rieVersion = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// lambda runs a function's real bootstrap, built as for Lambda
// (-tags lambda.norpc), under the runtime interface emulator.
type lambda struct {
	url  string
	logs *testlog.Buffer
}

func startLambda(t *testing.T, fn string, env ...string) *lambda {
	t.Helper()
	dir := t.TempDir()
	install := exec.Command("go", "install", rieVersion)
	install.Env = append(os.Environ(), "GOBIN="+dir)
	out, err := install.CombinedOutput()
	require.NoError(t, err, "install the runtime interface emulator: %s", out)
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, "../functions/"+fn)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "build %s: %s", fn, out)

	addr, runtimeAddr := freeAddr(t), freeAddr(t)
	l := &lambda{url: "http://" + addr + "/2015-03-31/functions/function/invocations", logs: &testlog.Buffer{}}
	cmd := exec.Command(filepath.Join(dir, "aws-lambda-rie"),
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = l.logs, l.logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s under the emulator:\n%s", fn, l.logs.String())
		}
	})
	return l
}

// invoke posts an event and decodes the function's response. A handler
// error comes back as HTTP 200 with errorMessage: that fails the test.
func (l *lambda) invoke(t *testing.T, event []byte, out any) {
	t.Helper()
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Post(l.url, "application/json", bytes.NewReader(event))
		if err != nil {
			return false // not listening yet
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		body = buf.Bytes()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "emulator never answered: %s", body)
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &fnErr)
	require.Empty(t, fnErr.ErrorMessage, "function error: %s", body)
	require.NoError(t, json.Unmarshal(body, out), "response: %s", body)
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// The API function's real bootstrap answers a recorded API Gateway v2
// event under the Lambda runtime API.
func TestAPIFunctionUnderLambdaEmulator(t *testing.T) {
	env := testenv.AWS(t)
	l := startLambda(t, "api",
		"SCALEOUT_PREFIX="+testenv.Prefix, "SCALEOUT_POOLS="+poolList(env), "SCALEOUT_SECRET_KEY="+strings.Repeat("ab", 32),
		"SCALEOUT_AUTH=iam", "SCALEOUT_IAM_ROLES=arn:aws:sts::123456789012:assumed-role/scheduler/*=executor")
	var resp events.APIGatewayV2HTTPResponse
	l.invoke(t, readFixture(t, "../functions/api/testdata/post-execution-iam.json"), &resp)
	require.Equal(t, http.StatusCreated, resp.StatusCode, resp.Body)
	var e execution
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &e))
	require.Equal(t, "pending", e.Status)
	require.Equal(t, "application/json", resp.Headers["Content-Type"])
}

// The stream function's real bootstrap handles a recorded stream batch.
func TestStreamFunctionUnderLambdaEmulator(t *testing.T) {
	testenv.AWS(t)
	l := startLambda(t, "stream", "SCALEOUT_PREFIX="+testenv.Prefix)
	var resp map[string]any
	l.invoke(t, readFixture(t, "../functions/stream/testdata/stream-batch.json"), &resp)
	require.Equal(t, map[string]any{}, resp["state"], "a tumbling-window response carries its state, or Lambda takes it for a failure")
	require.Empty(t, resp["batchItemFailures"])
}

func poolList(env testenv.Env) string {
	return strings.Join(slices.Collect(maps.Keys(env.Set.Pools)), ",")
}
