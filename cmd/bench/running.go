package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/aws/awsmeter"
)

// The running-minute system: one worker of concurrency runningConcurrency
// running as many executions of a runningSleep sleep, metered for
// runningWindow while all of them run.
const (
	runningConcurrency = 4
	runningSleep       = 160 * time.Second
	// runningSettle is how long after all of them run the window opens:
	// after their start-up writes (messages) and the session's first
	// renewal that records them and deletes their messages (each once per
	// execution, not per minute).
	runningSettle = 31 * time.Second
	runningWindow = 120 * time.Second
)

// runningResult is what the running executions cost over the window.
type runningResult struct {
	usage awsmeter.Usage
	// watchdog is what the pool's spare worker spent on the sessions'
	// watchdogs over the window (sending each again and deleting the one it
	// received; the receive takes an idle long poll's place), for both
	// sessions: the running worker's and its own.
	watchdog   awsmeter.Usage
	window     time.Duration
	executions int
	err        error
}

// perMinute is u per execution per minute of the window.
func (r runningResult) perMinute(v float64) float64 {
	return v / float64(r.executions) / r.window.Minutes()
}

// runningMinutes starts runningConcurrency executions that sleep
// runningSleep and meters every call of the system's API and worker from
// runningSettle after all of them run until runningWindow later (before the first
// one ends). Then it stops them through the API.
func (s *system) runningMinutes(ctx context.Context) (r runningResult) {
	r.executions = runningConcurrency
	def := fmt.Sprintf(`{"name":"long","tasks":[{"name":"wait","type":"sleep","with":{"duration":"%s"}}]}`, runningSleep)
	var ids []string
	for range runningConcurrency {
		id, _, err := s.post(ctx, `{"definition":`+def+`}`)
		if err != nil {
			r.err = err
			return r
		}
		ids = append(ids, id)
	}
	var firstStart time.Time
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := s.read(ctx, ids, "id", "status", "started_at")
		if err != nil {
			r.err = err
			return r
		}
		running := 0
		firstStart = time.Time{}
		for _, id := range ids {
			if sOf(got[id]["status"]) == "running" {
				running++
				if st := msAttr(got[id]["started_at"]); firstStart.IsZero() || st.Before(firstStart) {
					firstStart = st
				}
			}
		}
		if running == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			r.err = fmt.Errorf("%d of %d executions running after 60 s", running, len(ids))
			return r
		}
		time.Sleep(250 * time.Millisecond)
	}
	// A spare worker in the pool (one slot, idle): it is the one that
	// receives the sessions' watchdogs, which the full worker never polls
	// for. Metered apart: its idle long polls are not the executions'.
	spare := awsmeter.New()
	if err := s.addWorker(s.prefix+"-spare", 1, spare); err != nil {
		r.err = err
		return r
	}
	select {
	case <-ctx.Done():
		r.err = ctx.Err()
		return r
	case <-time.After(runningSettle):
	}
	s.meter.Take()
	spare.Take()
	start := time.Now()
	end := start.Add(runningWindow)
	if last := firstStart.Add(runningSleep - 5*time.Second); last.Before(end) {
		end = last
	}
	select {
	case <-ctx.Done():
		r.err = ctx.Err()
		return r
	case <-time.After(time.Until(end)):
	}
	r.usage = s.meter.Take()
	r.watchdog = spare.Take()
	r.window = time.Since(start)
	got, err := s.read(ctx, ids, "id", "status")
	if err != nil {
		r.err = err
		return r
	}
	for _, id := range ids {
		if st := sOf(got[id]["status"]); st != "running" {
			r.err = fmt.Errorf("execution %s is %s at the end of the window: the window must end before the first one does", id, st)
			return r
		}
	}
	r.err = s.stopAll(ctx, ids)
	return r
}

// stopAll asks the API to stop the executions and waits until they ended.
func (s *system) stopAll(ctx context.Context, ids []string) error {
	t0 := time.Now()
	for _, id := range ids {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api.URL+"/v1/executions/"+id+"/stop", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+benchToken)
		resp, err := s.http.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("POST /v1/executions/%s/stop: %s", id, resp.Status)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := s.read(ctx, ids, "id", "status")
		if err != nil {
			return err
		}
		var open []string
		for _, id := range ids {
			if st := sOf(got[id]["status"]); !slices.Contains(finalStatuses, st) {
				open = append(open, id+" "+st)
			}
		}
		if len(open) == 0 {
			stderrf("# running-minute system: the %d executions stopped through the API in %s\n", len(ids), time.Since(t0).Round(time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("executions not stopped 60 s after their stop request: %s", strings.Join(open, ", "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
