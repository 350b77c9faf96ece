package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ex "github.com/scaleout/scaleout/pkg/execution"
	msgs "github.com/scaleout/scaleout/pkg/messages"
)

// TestMessagesSurviveSIGKILL: what a package printed more than one flush
// interval before its worker was killed with SIGKILL is in the execution's
// messages, next to the messages of the attempt that took it over.
func TestMessagesSurviveSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startPoolStack(t, ctx, "msgkill")

	const flush = time.Second
	workerEnv := map[string]string{
		"SCALEOUT_WORKER_CONCURRENCY": "1",
		"SCALEOUT_LEASE":              "3s",
		"SCALEOUT_POLL_WAIT":          "1s",
		"SCALEOUT_GRACE":              "2s",
		"SCALEOUT_MESSAGE_FLUSH":      flush.String(),
	}
	ws := s.workerSet(t)
	doomed := ws.start("msgkill-doomed", workerEnv)

	// The first attempt prints, says so through a file (holding its shell's
	// pid) and sleeps; the attempt that takes over finds the file and ends.
	printed := filepath.Join(t.TempDir(), "printed")
	script := fmt.Sprintf(`if [ -e %[1]s ]; then echo "attempt two ran"; exit 0; fi
echo "line one, to stdout"
echo "line two, to stderr" >&2
echo $$ > %[1]s.tmp && mv %[1]s.tmp %[1]s
sleep 120`, printed)
	e, err := s.submit(ctx, map[string]any{"folder": "msgkill", "project": "msgkill", "package": "printer",
		"command": []string{"sh", "-c", script}})
	require.NoError(t, err)

	// The killed worker's package lives on in its own process group: end
	// it with the test.
	t.Cleanup(func() {
		if b, err := os.ReadFile(printed); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(printed); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the package did not print within 60s:\n%s", ws.logs())
		time.Sleep(50 * time.Millisecond)
	}
	// The promise is "within a flush interval": kill once one has passed
	// since the lines were printed (and a margin for the write itself on a
	// loaded machine). Without a timed flush the lines would still be in the
	// dead worker's buffer.
	time.Sleep(flush + time.Second)
	doomed.kill()
	ws.start("msgkill-replacement", workerEnv)

	final := s.waitExecutions(t, ctx, []string{e.ID}, 60*time.Second, "final", func(e ex.Execution) bool {
		return e.Status.Final()
	}, ws.logs)[e.ID]
	require.Equal(t, ex.Succeeded, final.Status, "%+v", final)
	require.Len(t, final.Attempts, 1, "%+v", final)
	require.Equal(t, ex.OutcomeLost, final.Attempts[0].Outcome, "%+v", final)
	require.Equal(t, doomed.id, final.Attempts[0].WorkerID, "%+v", final)

	byAttempt := map[int][]string{}
	for _, m := range s.messages(t, ctx, e.ID) {
		if m.Kind == "output" {
			byAttempt[m.Attempt] = append(byAttempt[m.Attempt], m.Stream+": "+m.Message)
		}
	}
	require.ElementsMatch(t, []string{"stdout: line one, to stdout", "stderr: line two, to stderr"}, byAttempt[1],
		"what attempt 1 printed before its worker was killed")
	require.Equal(t, []string{"stdout: attempt two ran"}, byAttempt[2], "what attempt 2 printed")
}

// messages reads every message of an execution through the API.
func (s *poolStack) messages(t *testing.T, ctx context.Context, id string) []msgs.Message {
	t.Helper()
	var all []msgs.Message
	after := ""
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/executions/"+id+"/messages?limit=100&after="+url.QueryEscape(after), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+stackToken)
		resp, err := s.api.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		var page msgs.Page
		require.NoError(t, json.Unmarshal(b, &page), "%s", b)
		all = append(all, page.Messages...)
		if len(page.Messages) == 0 {
			return all
		}
		after = page.Next
	}
}
