package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Depth is how many messages a pool's queue holds.
type Depth interface {
	Depth(ctx context.Context) (visible, inFlight int, err error)
}

// getStats answers GET /v1/stats?folder=&project=&package=: everything,
// a folder, a project or a package (a package's project defaults to
// "default", as executions' do).
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := aggregate.Filter{Folder: q.Get("folder"), Project: q.Get("project"), Package: q.Get("package")}
	if f.Package != "" {
		f.Folder, f.Project = orDefault(f.Folder, "default"), orDefault(f.Project, "default")
	}
	for _, v := range []struct{ name, value string }{{"folder", f.Folder}, {"project", f.Project}, {"package", f.Package}} {
		if v.value != "" && !execution.ValidName(v.value) {
			return badRequest(fmt.Sprintf("query parameter %s=%q: give a valid name (letters, digits, '.', '_', '-')", v.name, v.value))
		}
	}
	st, err := s.stats.Stats(r.Context(), f)
	if errors.Is(err, aggregate.ErrBadFilter) {
		return badRequest(err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// getDashboard answers GET /v1/dashboard?hours=24: the SSIS dashboard's
// figures for the last hours (1-720, default 24).
func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) error {
	hours := 24
	if v := r.URL.Query().Get("hours"); v != "" {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > 720 || fmt.Sprint(n) != v {
			return badRequest(fmt.Sprintf("query parameter hours=%q: give a whole number from 1 to 720", v))
		}
		hours = n
	}
	d, err := s.stats.Dashboard(r.Context(), s.now().Add(-time.Duration(hours)*time.Hour))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// OldestScan bounds the pending executions read to find each pool's oldest.
const OldestScan = 200

func (s *Server) getPools(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pools := slices.Sorted(maps.Keys(s.queues))
	stats, err := s.stats.Pools(ctx, pools)
	if err != nil {
		return err
	}
	byPool := map[string]aggregate.Stats{}
	for _, st := range stats {
		byPool[st.Pool] = st
	}
	ws, err := s.workers.List(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	oldest := map[string]time.Time{}
	pending, err := s.store.ByStatus(ctx, execution.Pending, now, OldestScan)
	if err != nil {
		return err
	}
	for _, e := range pending { // oldest first
		if _, seen := oldest[e.Pool]; !seen {
			oldest[e.Pool] = e.CreatedAt
		}
	}
	slots := s.busySlots(ctx, ws)
	out := scaleouttype.PoolList{Pools: []scaleouttype.PoolView{}}
	for _, pool := range pools {
		v := scaleouttype.PoolView{Pool: pool, Counts: byPool[pool].Counts, Running: byPool[pool].Running}
		if t, ok := oldest[pool]; ok {
			v.OldestPendingSeconds = max(now.Sub(t).Seconds(), 0)
		}
		if d, ok := s.queues[pool].(Depth); ok {
			var derr error
			if v.Queue.Visible, v.Queue.InFlight, derr = d.Depth(ctx); derr != nil {
				// One unreadable queue must not hide the others.
				s.log.WarnContext(ctx, "queue depth unavailable", "pool", pool, "error", derr)
				v.QueueError = "the queue's depth could not be read; see the API's log"
			}
		}
		for _, wk := range ws {
			if !slices.Contains(wk.Pools, pool) || !wk.Online {
				continue
			}
			v.Workers.Online++
			if wk.Enabled {
				v.Workers.Enabled++
				v.Workers.Capacity += wk.MaxTasks
				v.Workers.Running += slots(wk)
			}
		}
		if v.Queue.Visible > 0 {
			switch {
			case v.Workers.Online == 0:
				v.Waiting = "no worker is online in this pool"
			case v.Workers.Enabled == 0:
				v.Waiting = "every online worker of this pool is disabled"
			case v.Workers.Running >= v.Workers.Capacity:
				v.Waiting = "every enabled worker of this pool is at capacity"
			default:
				v.Waiting = "workers have free slots: the work starts at their next poll, unless they hold back for CPU or memory"
			}
		}
		out.Pools = append(out.Pools, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// busySlots returns how many of a worker's slots its executions take:
// those running or stopping on it, from the per-worker counts the stream
// function keeps, which follow a claim or an end within seconds. The
// registry's running is only recorded at the worker's session renewals
// (every lease/2, 30 s by default), so a run that ended stayed counted
// until the next one; the worker writing its registry item at every end
// instead would add a write per execution. Should the counts be
// unreadable, the registry's figure is shown, and the API logs why.
func (s *Server) busySlots(ctx context.Context, ws []registrytype.Worker) func(registrytype.Worker) int {
	var ids []string
	for _, wk := range ws {
		if wk.Online && wk.Enabled {
			ids = append(ids, wk.ID)
		}
	}
	if len(ids) == 0 {
		return func(wk registrytype.Worker) int { return wk.Running }
	}
	stats, err := s.stats.Workers(ctx, ids)
	if err != nil {
		s.log.WarnContext(ctx, "worker counts unavailable; showing the registry's running figures", "error", err)
		return func(wk registrytype.Worker) int { return wk.Running }
	}
	busy := make(map[string]int, len(stats))
	for _, st := range stats {
		// Counts folded out of order may dip below zero for a moment.
		busy[st.Worker] = int(max(st.Counts[execution.Running]+st.Counts[execution.Stopping], 0))
	}
	return func(wk registrytype.Worker) int { return busy[wk.ID] }
}
