package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// item is what an aggregate item holds, in domain terms: what Store
// decodes of a DynamoDB item and what Memory keeps. Both read it into
// Stats the same way (stats).
type item struct {
	// attrs name what the item aggregates (folder, project, package,
	// pool, worker_id; bucket_start for buckets).
	attrs          map[string]string
	counts         Counts
	dur            Durations
	last, lastFail *rankedLast
}

// stats reads the item: every status counted (zero when none), running
// now, the durations' quantiles settled.
func (it item) stats() Stats {
	st := Stats{
		Folder: it.attrs["folder"], Project: it.attrs["project"], Package: it.attrs["package"],
		Pool: it.attrs["pool"], Worker: it.attrs["worker_id"], Counts: Counts{},
	}
	for _, s := range execution.Statuses {
		st.Counts[s] = it.counts[s]
	}
	st.Running = st.Counts[execution.Running]
	st.Durations = it.dur
	st.Durations.Buckets = maps.Clone(it.dur.Buckets)
	if st.Durations.Buckets == nil {
		st.Durations.Buckets = map[int]int64{}
	}
	st.Durations.Settle()
	if it.last != nil {
		l := it.last.Last
		st.Last = &l
	}
	if it.lastFail != nil {
		l := it.lastFail.Last
		st.LastFailure = &l
	}
	return st
}

// take adds merged contributions of an Update to the item, as Store's
// UpdateItem does: counts and durations added, the names set, last and
// last failure replaced only by later ones.
func (it *item) take(u *Update, m merged) {
	if it.attrs == nil {
		it.attrs = map[string]string{}
	}
	maps.Copy(it.attrs, u.attrs)
	if it.counts == nil {
		it.counts = Counts{}
	}
	for s, n := range m.counts {
		if n != 0 {
			it.counts[s] += n
		}
	}
	it.dur.Merge(m.dur)
	if m.last != nil && (it.last == nil || m.last.order > it.last.order) {
		it.last = m.last
	}
	if m.lastFail != nil && (it.lastFail == nil || m.lastFail.order > it.lastFail.order) {
		it.lastFail = m.lastFail
	}
}

// staleHours are the hours whose watermark maps an item drops when it
// takes m: those older than the dedup window, up to six hours before it
// (older ones went with earlier writes), and none that m writes.
func (m merged) staleHours(window time.Duration) []int64 {
	maxHour := int64(0)
	for h := range m.seqs {
		maxHour = max(maxHour, h)
	}
	w := int64(window / time.Hour)
	var out []int64
	for h := maxHour - w - 6; h <= maxHour-w-1; h++ {
		if _, used := m.seqs[h]; h >= 0 && !used {
			out = append(out, h)
		}
	}
	return out
}

// statsKey is the item that holds the Stats f selects.
func statsKey(scope string, f Filter) (Key, error) {
	switch {
	case f.Folder == "" && (f.Project != "" || f.Package != ""):
		return Key{}, fmt.Errorf("%w: a project or package needs its folder", ErrBadFilter)
	case f.Project == "" && f.Package != "":
		return Key{}, fmt.Errorf("%w: a package needs its project", ErrBadFilter)
	case f.Folder == "":
		return allKey(scope), nil
	case f.Project == "":
		return folderKey(scope, f.Folder), nil
	case f.Package == "":
		return projectKey(scope, f.Folder, f.Project), nil
	default:
		return pkgKey(scope, Ref(f)), nil
	}
}

// poolKeys and workerKeys are the items of the pools and workers named,
// each once.
func poolKeys(scope string, pools []string) []Key {
	return uniqueKeys(pools, func(p string) Key { return poolKey(scope, p) })
}

func workerKeys(scope string, ids []string) []Key {
	return uniqueKeys(ids, func(id string) Key { return workerKey(scope, id) })
}

func uniqueKeys(names []string, key func(string) Key) []Key {
	seen := map[string]bool{}
	var out []Key
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, key(n))
		}
	}
	return out
}

// sortPools and sortWorkers order what Pools and Workers return.
func sortPools(st []Stats) {
	slices.SortFunc(st, func(a, b Stats) int { return cmp.Compare(a.Pool, b.Pool) })
}

func sortWorkers(st []Stats) {
	slices.SortFunc(st, func(a, b Stats) int { return cmp.Compare(a.Worker, b.Worker) })
}

// dashboardWindow starts the Dashboard from since until now: since
// rounded up to the hour (the figures are kept per hour, and rounding up
// means nothing that ended before since is counted, so "the last 24 h"
// never shows an execution 24h56m old), and the hours of the window.
func dashboardWindow(since, now time.Time) (Dashboard, []time.Time) {
	now = now.UTC()
	d := Dashboard{Since: since.UTC().Truncate(time.Hour), Until: now, Counts: Counts{},
		Packages: []PackageFigures{}, Hourly: []HourFigures{}}
	if d.Since.Before(since) {
		d.Since = d.Since.Add(time.Hour)
	}
	var hours []time.Time
	for h := d.Since; !h.After(now); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	return d, hours
}

// foldDashboard adds up the bucket items of the window's hours into d:
// parts holds, for hour i of hours, its BucketShards partitions
// parts[i*BucketShards:(i+1)*BucketShards], each as a Query returns it (by
// sort key). all is the ALL item, for what runs now. The fold goes in that
// order, so the figures do not depend on the order the reads ended.
func foldDashboard(d *Dashboard, hours []time.Time, parts [][]Stats, all Stats) {
	pkgs := map[Ref]*PackageFigures{}
	for hi, h := range hours {
		hf := HourFigures{Hour: h, Counts: Counts{}}
		for _, part := range parts[hi*BucketShards : (hi+1)*BucketShards] {
			for _, st := range part {
				ref := Ref{Folder: st.Folder, Project: st.Project, Package: st.Package}
				p, ok := pkgs[ref]
				if !ok {
					p = &PackageFigures{PackageRef: ref, Counts: Counts{}}
					pkgs[ref] = p
				}
				for k, v := range st.Counts {
					if v != 0 {
						hf.Counts[k] += v
						p.Counts[k] += v
						d.Counts[k] += v
					}
				}
				hf.Durations.Merge(st.Durations)
				p.Durations.Merge(st.Durations)
				if st.LastFailure != nil && (p.LastFailure == nil || !st.LastFailure.At.Before(p.LastFailure.At)) {
					p.LastFailure = st.LastFailure
				}
			}
		}
		d.Hourly = append(d.Hourly, hf)
	}
	d.Failures = d.Counts[execution.Failed]
	for _, p := range pkgs {
		d.Packages = append(d.Packages, *p)
	}
	sort.Slice(d.Packages, func(i, j int) bool { return d.Packages[i].PackageRef.String() < d.Packages[j].PackageRef.String() })
	d.Running, d.Pending = all.Counts[execution.Running], all.Counts[execution.Pending]
}
