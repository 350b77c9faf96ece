package tests

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	ex "github.com/scaleout/scaleout/internal/executions/execution"
)

// TestLongRunsOutliveLeasesAndKills runs packages many times longer than
// the workers' lease and than the queue's visibility timeout (made short
// here, with a dead-letter queue after two receives, so that a message held
// or redelivered during a run would reach it), SIGKILLs the worker running
// half of them mid-run, and checks that every run finishes, that the lost
// attempts were taken over when their lease ran out (not later), that no two
// attempts of one execution overlapped, and that nothing reached the
// dead-letter queue.
func TestLongRunsOutliveLeasesAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("long runs: about a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := startPoolStack(t, ctx, "long")

	const (
		lease      = 3 * time.Second
		visibility = 4 * time.Second
		runFor     = 25 * time.Second // > 8 leases, > 6 visibility timeouts
	)
	out, err := s.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.dlqURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	_, err = s.clients.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(s.queueURL), Attributes: map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(visibility.Seconds())),
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, out.Attributes["QueueArn"]),
	}})
	require.NoError(t, err)

	workerEnv := map[string]string{
		"SCALEOUT_WORKER_CONCURRENCY": "2",
		"SCALEOUT_LEASE":              lease.String(),
		"SCALEOUT_POLL_WAIT":          "1s",
		"SCALEOUT_GRACE":              "2s",
	}
	ws := s.workerSet(t)
	allLogs := ws.logs
	start := func(id string) *poolWorker { return ws.start(id, workerEnv) }
	doomed := start("long-doomed")
	var ids []string
	for range 2 {
		e, err := s.submit(ctx, map[string]any{"folder": "long", "project": "long", "package": "sleep",
			"command": []string{"sh", "-c", fmt.Sprintf("sleep %d", int(runFor.Seconds()))}})
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	s.waitExecutions(t, ctx, ids, 30*time.Second, "running on the doomed worker", func(e ex.Execution) bool {
		return e.Status == ex.Running && e.WorkerID == doomed.id
	}, allLogs)
	// Two more, on a worker that lives; then the first dies mid-run, after
	// several renewals and visibility timeouts.
	survivor := start("long-survivor")
	for range 2 {
		e, err := s.submit(ctx, map[string]any{"folder": "long", "project": "long", "package": "sleep",
			"command": []string{"sh", "-c", fmt.Sprintf("sleep %d", int(runFor.Seconds()))}})
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	time.Sleep(3 * visibility) // the runs go on past the visibility timeout before the kill
	doomed.kill()
	killedAt := time.Now()
	replacement := start("long-replacement")

	final := s.waitExecutions(t, ctx, ids, 2*time.Minute, "final", func(e ex.Execution) bool { return e.Status.Final() }, allLogs)
	for _, id := range ids {
		e := final[id]
		where := fmt.Sprintf("execution %s: %+v", id, e)
		require.Equal(t, ex.Succeeded, e.Status, where)
		require.NotNil(t, e.StartedAt, where)
		require.GreaterOrEqual(t, e.EndedAt.Sub(*e.StartedAt), runFor, "%s: the last attempt ran the whole package", where)
		if len(e.Attempts) == 0 {
			require.NotEqual(t, doomed.id, e.WorkerID, where)
			continue
		}
		require.Len(t, e.Attempts, 1, where)
		lost := e.Attempts[0]
		require.Equal(t, ex.OutcomeLost, lost.Outcome, where)
		require.Equal(t, doomed.id, lost.WorkerID, where)
		require.Equal(t, 1, e.CountedAttempts(), "%s: the lost attempt took no package retry", where)
		require.False(t, e.StartedAt.Before(lost.EndedAt), "%s: attempt 2 started before attempt 1's lease ran out", where)
		takeover := e.StartedAt.Sub(lost.EndedAt)
		t.Logf("execution %s: worker killed at %s, its lease ran out %s later, taken over %s after that by %s",
			id, killedAt.Format(time.RFC3339Nano), lost.EndedAt.Sub(killedAt).Round(time.Millisecond),
			takeover.Round(time.Millisecond), e.WorkerID)
		require.Less(t, lost.EndedAt.Sub(killedAt), lease+time.Second, "%s: the lease ran out a lease after the kill", where)
		require.Less(t, takeover, 2*time.Second+time.Second, "%s: taken over when the lease ran out (within the watchdog's whole-second delay and a poll), not a timeout later", where)
	}
	n, err := s.queueDepth(ctx, s.dlqURL)
	require.NoError(t, err)
	require.Zero(t, n, "messages in the dead-letter queue")
	s.waitQueueEmpty(t, ctx, 30*time.Second, survivor, replacement)
}
