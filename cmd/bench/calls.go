package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/aws/awsmeter"
)

// printCalls writes one line per operation and table: calls per
// execution, latency, and the DynamoDB capacity it consumed per execution.
func printCalls(w io.Writer, u awsmeter.Usage, executions int) {
	type row struct {
		name string
		ds   []time.Duration
	}
	var rows []row
	for c, ds := range u.Calls {
		name := c.Op
		if c.Table != "" {
			name += " [" + c.Table[strings.LastIndex(c.Table, "-")+1:] + "]"
		}
		rows = append(rows, row{name, slices.Sorted(slices.Values(ds))})
	}
	sort.Slice(rows, func(i, j int) bool {
		if len(rows[i].ds) != len(rows[j].ds) {
			return len(rows[i].ds) > len(rows[j].ds)
		}
		return rows[i].name < rows[j].name
	})
	n := float64(executions)
	for _, r := range rows {
		fmt.Fprintf(w, "#   %-34s %6d calls  %5.2f per execution  p50 %6.2f ms  p99 %7.2f ms\n",
			r.name, len(r.ds), float64(len(r.ds))/n, msOf(pct(r.ds, 50)), msOf(pct(r.ds, 99)))
	}
	if len(u.ByOperation) > 0 {
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(u.ByOperation)) {
			c := u.ByOperation[op]
			parts = append(parts, fmt.Sprintf("%s %.2f WRU %.2f RRU", strings.TrimPrefix(op, "DynamoDB."), c.Write/n, c.Read/n))
		}
		fmt.Fprintf(w, "#   DynamoDB capacity per execution by operation: %s\n", strings.Join(parts, ", "))
		parts = parts[:0]
		for _, r := range slices.SortedFunc(maps.Keys(u.Capacity), func(a, b awsmeter.Resource) int {
			return strings.Compare(a.Table+"/"+a.Index, b.Table+"/"+b.Index)
		}) {
			c := u.Capacity[r]
			name := r.Table[strings.LastIndex(r.Table, "-")+1:]
			if r.Index != "" {
				name += "/" + r.Index
			}
			parts = append(parts, fmt.Sprintf("%s %.2f WRU %.2f RRU", name, c.Write/n, c.Read/n))
		}
		fmt.Fprintf(w, "#   DynamoDB capacity per execution by table/index: %s\n", strings.Join(parts, ", "))
	}
	if failed := sumValues(u.Failed); failed > 0 {
		var parts []string
		for c, k := range u.Failed {
			parts = append(parts, fmt.Sprintf("%s %d", c.Op, k))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "#   failed calls (canceled long polls, failed conditions...; no capacity reported, though AWS bills a failed conditional write at least 1 WRU): %s\n", strings.Join(parts, ", "))
	}
}

func sumValues[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// pct is the nearest-rank percentile of sorted values.
func pct[T any](sorted []T, p float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
