package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ex "github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
)

// chaosKind is what a chaos execution's package does.
type chaosKind string

const (
	chaosTrue  chaosKind = "true"  // exits 0 at once
	chaosSleep chaosKind = "sleep" // sleeps 50-500 ms, exits 0
	chaosFail  chaosKind = "fail"  // exits 3
)

// TestChaos runs a few hundred short executions on three worker processes
// while workers are killed with SIGKILL at random moments and restarted,
// then checks from the recorded history that every execution ended, that no
// two attempts of one execution ever ran at once, that attempts and their
// reasons add up, and that no message is left in the queue.
//
// SCALEOUT_CHAOS_SEED replays a run.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: a few minutes")
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := startPoolStack(t, ctx, "chaos")

	seed := time.Now().UnixNano()
	if v := os.Getenv("SCALEOUT_CHAOS_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "SCALEOUT_CHAOS_SEED")
	}
	t.Logf("chaos seed %d (SCALEOUT_CHAOS_SEED=%d replays the schedule)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	const (
		total   = 300
		retries = 2
	)

	// The reconciler, in-process, a pass every second.
	recCfg := s.cfg
	recCfg.PendingAfter, recCfg.LostAfter = 5*time.Second, 5*time.Second
	rec, err := assemble.Reconciler(ctx, recCfg, s.clients, s.log)
	require.NoError(t, err)
	var (
		recMu  sync.Mutex
		recSum reconcile.Report
	)
	recCtx, stopRec := context.WithCancel(ctx)
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			rep, _ := rec.Pass(recCtx) // errors are logged; the next pass tries again
			recMu.Lock()
			recSum.Requeued += rep.Requeued
			recSum.Recovered += rep.Recovered
			recSum.Ended += rep.Ended
			recSum.Skipped += rep.Skipped
			recSum.Failed += rep.Failed
			recMu.Unlock()
			select {
			case <-recCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stopRec(); <-recDone })

	// Three worker processes; a restarted one gets a new id.
	workerEnv := map[string]string{
		"SCALEOUT_WORKER_CONCURRENCY": "4",
		"SCALEOUT_LEASE":              "3s",
		"SCALEOUT_POLL_WAIT":          "1s",
		"SCALEOUT_GRACE":              "2s",
		"SCALEOUT_RETRY_BACKOFF":      "500ms",
	}
	var (
		all      []*poolWorker // every process started, in order
		slots    [3]*poolWorker
		restarts [3]int
		kills    int
		ids      = map[string]bool{} // every worker id used
	)
	allLogs := func() string {
		var b strings.Builder
		for _, w := range all {
			fmt.Fprintf(&b, "--- worker %s\n%s", w.id, w.logs.String())
		}
		return b.String()
	}
	t.Cleanup(func() {
		for _, w := range all {
			w.kill()
		}
		if t.Failed() {
			// Too long for the test log: kept in a file.
			path := filepath.Join(os.TempDir(), s.prefix+"-logs.txt")
			if err := os.WriteFile(path, []byte(allLogs()+"--- API and reconciler\n"+s.logs.String()), 0o644); err == nil {
				t.Logf("worker, API and reconciler logs: %s", path)
			}
		}
	})
	start := func(slot int) {
		id := fmt.Sprintf("w%d", slot+1)
		if restarts[slot] > 0 {
			id = fmt.Sprintf("w%d-r%d", slot+1, restarts[slot])
		}
		restarts[slot]++
		w, err := s.startWorker(id, workerEnv)
		require.NoError(t, err)
		all = append(all, w)
		slots[slot] = w
		ids[id] = true
	}
	for i := range slots {
		start(i)
	}

	// Submit over HTTP from a few goroutines while the workers run.
	kinds := map[string]chaosKind{}
	var (
		kindsMu   sync.Mutex
		submitErr error
	)
	// The plan is drawn before the chaos starts: one goroutine uses rng.
	plan := make([]map[string]any, total)
	planKinds := make([]chaosKind, total)
	for i := range plan {
		kind, cmd := chaosTrue, "true"
		switch r := rng.Intn(10); {
		case r < 4:
		case r < 8:
			kind, cmd = chaosSleep, fmt.Sprintf("sleep %.3f", 0.05+0.45*rng.Float64())
		default:
			kind, cmd = chaosFail, "echo failing on purpose >&2; exit 3"
		}
		plan[i] = map[string]any{"folder": "chaos", "project": "chaos", "package": string(kind),
			"command": []string{"sh", "-c", cmd}, "retries": retries}
		planKinds[i] = kind
	}
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		next := make(chan int)
		var wg sync.WaitGroup
		var errMu sync.Mutex
		for range 4 {
			wg.Go(func() {
				for i := range next {
					e, err := s.submit(ctx, plan[i])
					if err != nil {
						errMu.Lock()
						submitErr = errors.Join(submitErr, err)
						errMu.Unlock()
						continue
					}
					kindsMu.Lock()
					kinds[e.ID] = planKinds[i]
					kindsMu.Unlock()
				}
			})
		}
		// About 15 a second, so that the kills fall among running work.
		tick := time.NewTicker(65 * time.Millisecond)
		defer tick.Stop()
		for i := range plan {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
			next <- i
		}
		close(next)
		wg.Wait()
	}()

	// Chaos: every 0.7-2.7 s SIGKILL a random live worker (never the last
	// one); a killed worker comes back (a new process, a new id) 0.5-3 s
	// later, unless the dice say it stays down until the end.
	chaosFor := 25 * time.Second
	chaosEnd := time.Now().Add(chaosFor)
	type pendingRestart struct {
		slot int
		at   time.Time
	}
	var restartsDue []pendingRestart
	down := map[int]bool{}
	nextKill := time.Now().Add(time.Duration(700+rng.Intn(2000)) * time.Millisecond)
	for {
		done := false
		select {
		case <-submitted:
			done = time.Now().After(chaosEnd)
		default:
		}
		if done || ctx.Err() != nil {
			break
		}
		now := time.Now()
		for i := 0; i < len(restartsDue); {
			if now.After(restartsDue[i].at) {
				start(restartsDue[i].slot)
				delete(down, restartsDue[i].slot)
				restartsDue = slices.Delete(restartsDue, i, i+1)
				continue
			}
			i++
		}
		if now.After(nextKill) && now.Before(chaosEnd) {
			var live []int
			for i, w := range slots {
				if !down[i] && w.alive() {
					live = append(live, i)
				}
			}
			if len(live) >= 2 {
				slot := live[rng.Intn(len(live))]
				slots[slot].kill()
				kills++
				down[slot] = true
				t.Logf("%s: SIGKILL %s", time.Since(begin).Round(time.Millisecond), slots[slot].id)
				if rng.Intn(4) > 0 {
					restartsDue = append(restartsDue, pendingRestart{slot, now.Add(time.Duration(500+rng.Intn(2500)) * time.Millisecond)})
				}
			}
			nextKill = now.Add(time.Duration(700+rng.Intn(2000)) * time.Millisecond)
		}
		// The chaos schedule's own clock, not a wait for a condition.
		time.Sleep(50 * time.Millisecond)
	}
	// Every killed worker comes back before the end, so the backlog drains.
	for slot := range down {
		start(slot)
	}
	<-submitted
	require.NoError(t, submitErr)
	require.Len(t, kinds, total)
	require.GreaterOrEqual(t, countChaosKind(kinds, chaosFail), 1)
	for i, w := range slots {
		require.True(t, w.alive(), "worker %s (slot %d) died on its own:\n%s", w.id, i, w.logs.String())
	}
	t.Logf("%s: %d submitted, %d kills; waiting for every execution to end", time.Since(begin).Round(time.Millisecond), total, kills)

	// Every execution reaches a final state.
	var execIDs []string
	for id := range kinds {
		execIDs = append(execIDs, id)
	}
	slices.Sort(execIDs)
	remaining := time.Until(begin.Add(3 * time.Minute))
	final := s.waitExecutions(t, ctx, execIDs, remaining, "final", func(e ex.Execution) bool { return e.Status.Final() }, allLogs)
	t.Logf("%s: every execution ended", time.Since(begin).Round(time.Millisecond))

	// The recorded history adds up.
	counts := map[ex.Status]int{}
	var takeovers, retriesUsed, rerun, lostOnLive int
	killed := map[string]bool{}
	for _, w := range all {
		if !w.alive() {
			killed[w.id] = true
		}
	}
	for _, id := range execIDs {
		e, kind := final[id], kinds[id]
		counts[e.Status]++
		where := fmt.Sprintf("execution %s (%s): %+v", id, kind, e)
		switch kind {
		case chaosFail:
			require.Contains(t, []ex.Status{ex.Failed, ex.EndedUnexpectedly}, e.Status, where)
		default:
			require.Contains(t, []ex.Status{ex.Succeeded, ex.EndedUnexpectedly}, e.Status, where)
		}
		require.Equal(t, retries, e.Retries, where)
		if len(e.Attempts) > 0 {
			rerun++
		}

		// Attempts are numbered 1, 2, ... in the history.
		for i, a := range e.Attempts {
			require.Equal(t, i+1, a.Attempt, where)
			require.True(t, ids[a.WorkerID], "%s: attempt %d by unknown worker %q", where, a.Attempt, a.WorkerID)
			switch a.Outcome {
			case ex.OutcomeLost:
				takeovers++
				if !killed[a.WorkerID] {
					lostOnLive++
				}
				require.Contains(t, a.Reason, "worker "+a.WorkerID+" lost attempt "+strconv.Itoa(a.Attempt), where)
			case ex.OutcomeFailed:
				retriesUsed++
				require.Equal(t, chaosFail, kind, "%s: only a failing package has failed attempts", where)
				require.Contains(t, a.Reason, "exited with code 3", where)
			default:
				t.Fatalf("%s: attempt %d has outcome %q; nothing was released (no worker was stopped gracefully)", where, a.Attempt, a.Outcome)
			}
		}

		// No two attempts ran at once: the intervals, in attempt order, do
		// not overlap (a lost attempt ends at its lease expiry).
		type span struct {
			attempt    int
			worker     string
			start, end time.Time
		}
		var spans []span
		for _, a := range e.Attempts {
			spans = append(spans, span{a.Attempt, a.WorkerID, a.StartedAt, a.EndedAt})
		}
		switch e.Status {
		case ex.Succeeded, ex.Failed:
			// The last attempt ran to the package's own end.
			require.Equal(t, len(e.Attempts)+1, e.Attempt, where)
			require.NotNil(t, e.StartedAt, where)
			require.NotNil(t, e.EndedAt, where)
			require.True(t, ids[e.WorkerID], "%s: unknown worker", where)
			spans = append(spans, span{e.Attempt, e.WorkerID, *e.StartedAt, *e.EndedAt})
		case ex.EndedUnexpectedly:
			// The last attempt was lost with no retry left: it is the last
			// record, and every attempt counted.
			require.Equal(t, len(e.Attempts), e.Attempt, where)
			require.NotEmpty(t, e.Attempts, where)
			require.Equal(t, ex.OutcomeLost, e.Attempts[len(e.Attempts)-1].Outcome, where)
			require.Contains(t, e.Error, "no lost-attempt retries left", where)
		default:
			t.Fatalf("%s: unexpected final status", where)
		}
		for i, sp := range spans {
			require.False(t, sp.start.IsZero(), "%s: attempt %d has no start", where, sp.attempt)
			require.False(t, sp.end.Before(sp.start), "%s: attempt %d ends before it starts", where, sp.attempt)
			if i > 0 {
				prev := spans[i-1]
				require.False(t, sp.start.Before(prev.end),
					"%s: attempt %d (%s) started at %s, before attempt %d (%s) ended at %s: two attempts at once",
					where, sp.attempt, sp.worker, sp.start.Format(time.RFC3339Nano), prev.attempt, prev.worker,
					prev.end.Format(time.RFC3339Nano))
			}
		}

		// Budgets: package failures count against retries, lost attempts
		// against lost_retries (the API's default); a failed execution used
		// all its retries, an ended_unexpectedly one all its lost retries,
		// and none used more.
		failed, lost := 0, 0
		for _, a := range e.Attempts {
			switch a.Outcome {
			case ex.OutcomeFailed:
				failed++
			case ex.OutcomeLost:
				lost++
			}
		}
		require.Equal(t, ex.DefaultLostRetries, e.LostRetries, where)
		require.LessOrEqual(t, failed, retries, where)
		switch e.Status {
		case ex.Failed:
			require.Equal(t, retries, failed, "%s: failed before its retries were used", where)
			require.LessOrEqual(t, lost, e.LostRetries, where)
		case ex.EndedUnexpectedly:
			require.Equal(t, e.LostRetries+1, lost, "%s: ended unexpectedly before its lost retries were used", where)
		default:
			require.LessOrEqual(t, lost, e.LostRetries, where)
		}
		if e.Status == ex.Failed {
			require.Contains(t, e.Error, "exited with code 3", where)
		}
	}

	// No message is left in the queue once everything ended: duplicates
	// were consumed. A message a killed worker's long poll took stays
	// invisible for the lease it received it with (3 s).
	s.waitQueueEmpty(t, ctx, time.Until(begin.Add(4*time.Minute-10*time.Second)), slots[:]...)
	dlq, err := s.queueDepth(ctx, s.dlqURL)
	require.NoError(t, err)

	recMu.Lock()
	rs := recSum
	recMu.Unlock()
	t.Logf("chaos summary after %s (seed %d): %d executions: %d succeeded, %d failed, %d ended_unexpectedly; "+
		"%d processes started, %d SIGKILLs; %d rerun executions, %d lost attempts taken over (%d of them on workers not killed), "+
		"%d retries after a package failure; reconciler: %d recovered, %d ended, %d requeued, %d skipped, %d failed; dead-letter queue: %d",
		time.Since(begin).Round(time.Millisecond), seed, total, counts[ex.Succeeded], counts[ex.Failed], counts[ex.EndedUnexpectedly],
		len(all), kills, rerun, takeovers, lostOnLive, retriesUsed, rs.Recovered, rs.Ended, rs.Requeued, rs.Skipped, rs.Failed, dlq)
	require.GreaterOrEqual(t, kills, 1, "the schedule killed no worker")
}

func countChaosKind(kinds map[string]chaosKind, k chaosKind) int {
	n := 0
	for _, v := range kinds {
		if v == k {
			n++
		}
	}
	return n
}
