package tests

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A package cannot get the worker's credentials. The worker (scaleout dev)
// holds fake ones as on AWS: the ECS container credentials URI and a
// secret access key, with its key for sensitive values. Packages try every
// way there: http tasks to the metadata and credentials endpoints by
// address and through redirects from a server they may reach (names that
// resolve there are refused the same way: see internal/worker/netguard and
// internal/packages/tasktypes), and an exec task that prints its environment and reads
// the worker's. None of the secret values appears in any execution,
// message or output, and every http task fails saying why.
//
// The exec task runs as a user of its own (SCALEOUT_TASK_USER) only when
// the test runs as root: the uid switch needs it. Otherwise the task
// still gets a clean environment, and reading the worker's environment
// (which its own user can) is skipped.
func TestPackagesCannotTakeTheWorkersCredentials(t *testing.T) {
	secret := func(prefix string) string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return prefix + hex.EncodeToString(b)
	}
	credsURI := "/v2/credentials/" + secret("fake-")
	awsSecret := secret("fake-secret-access-key-")
	keyBytes := make([]byte, 32)
	_, _ = rand.Read(keyBytes)
	sealKey := hex.EncodeToString(keyBytes)
	secrets := map[string]string{"container credentials URI": credsURI, "secret access key": awsSecret, "sealing key": sealKey}

	env := []string{
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=" + credsURI,
		"AWS_SECRET_ACCESS_KEY=" + awsSecret,
		"SCALEOUT_SECRET_KEY=" + sealKey,
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		env = append(env, "SCALEOUT_TASK_USER=10002:10002")
	} else {
		t.Log("not root: exec tasks run as the worker's own user (SCALEOUT_TASK_USER needs root or CAP_SETUID); " +
			"the part that reads the worker's environment is skipped")
	}

	// A server packages may reach (loopback) that redirects to the
	// endpoints.
	var mu sync.Mutex
	var reached []string
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/to-imds":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
		case "/to-ecs":
			http.Redirect(w, r, "http://169.254.170.2/v2/credentials/", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer redirector.Close()

	d := startDev(t, buildScaleout(t), env...)
	workerPID := d.cmd.Process.Pid

	httpProbe := func(name, url string) string {
		return fmt.Sprintf(`name: %s
tasks:
  - name: steal
    type: http
    with: {url: %q, timeout: 5s}
`, name, url)
	}
	probes := map[string]string{}
	for name, url := range map[string]string{
		"imds":          "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"imds-token":    "http://169.254.169.254/latest/api/token",
		"ecs-creds":     "http://169.254.170.2/v2/credentials/", // the worker's path is what a package must not learn
		"ecs-metadata":  "http://169.254.170.2/v4/",
		"imds-ipv6":     "http://[fd00:ec2::254]/latest/meta-data/",
		"imds-mapped":   "http://[::ffff:169.254.169.254]/latest/meta-data/",
		"redirect-imds": redirector.URL + "/to-imds",
		"redirect-ecs":  redirector.URL + "/to-ecs",
	} {
		e := post(t, d, map[string]any{"folder": "isolation", "definition": httpProbe("steal-"+name, url)})
		probes[e.ID] = name
	}

	script := `echo "--- env"; env; echo "--- /proc/1/environ"; tr '\0' '\n' < /proc/1/environ || echo "denied: /proc/1/environ"`
	if asRoot {
		script += fmt.Sprintf(`; echo "--- worker"; tr '\0' '\n' < /proc/%d/environ || echo "denied: the worker's environ"`, workerPID)
		script += `; echo "--- parent"; tr '\0' '\n' < /proc/$PPID/environ || echo "denied: the parent's environ"; echo "uid=$(id -u)"`
	}
	execDef := `name: steal-env
tasks:
  - name: steal
    type: exec
    with:
      command: [sh, -c, ` + fmt.Sprintf("%q", script) + `]
`
	execRun := post(t, d, map[string]any{"folder": "isolation", "definition": execDef})

	// Everything an execution shows: the execution, its messages.
	shown := func(id string) (execution, string) {
		got := waitFinal(t, d, id)
		var raw map[string]any
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+id, "", &raw))
		ms := messages(t, d, id)
		return got, fmt.Sprint(raw) + "\n" + fmt.Sprint(got) + "\n" + fmt.Sprint(ms)
	}
	noSecrets := func(what, text string) {
		t.Helper()
		for name, v := range secrets {
			require.NotContains(t, text, v, "%s shows the worker's %s", what, name)
		}
	}

	for id, name := range probes {
		got, text := shown(id)
		noSecrets(name, text)
		require.Equal(t, "failed", got.Status, "%s: %s", name, got.Error)
		require.Len(t, got.Tasks, 1, name)
		require.Equal(t, 1, got.Tasks[0].Attempts, "%s: a refused connection is not retried", name)
		require.Contains(t, got.Tasks[0].Error, "refused: ", name)
		require.Contains(t, got.Tasks[0].Error, "packages may not reach it", name)
		if strings.HasPrefix(name, "redirect-") {
			require.Contains(t, got.Tasks[0].Error, "(redirected to http://169.254.", name)
		}
	}
	mu.Lock()
	require.ElementsMatch(t, []string{"/to-imds", "/to-ecs"}, reached, "the redirector was reached, once each")
	mu.Unlock()

	got, text := shown(execRun.ID)
	noSecrets("the exec task", text)
	require.Equal(t, "succeeded", got.Status, got.Error)
	var out []string
	for _, m := range messages(t, d, execRun.ID) {
		if m.Kind == "output" {
			out = append(out, m.Message)
		}
	}
	envPart := strings.Join(out, "\n")
	at := strings.Index(envPart, "--- env")
	require.GreaterOrEqual(t, at, 0, "the exec task printed its environment")
	envPart, _, _ = strings.Cut(envPart[at:], "--- /proc/1/environ")
	for _, line := range strings.Split(envPart, "\n") {
		name, _, _ := strings.Cut(line, "=")
		require.False(t, strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "ECS_") || strings.HasPrefix(name, "SCALEOUT_"),
			"the exec task inherited %s", name)
	}
	if asRoot {
		all := strings.Join(out, "\n")
		require.Contains(t, all, "uid=10002")
		require.Contains(t, all, "denied: the worker's environ")
		require.Contains(t, all, "denied: the parent's environ")
	}
}
