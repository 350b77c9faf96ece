package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// showDataFlows writes the DATA FLOW table of the tasks that have data
// flow statistics: the rows of each path, then each flow's totals (-o json
// has the tapped rows too).
func showDataFlows(out io.Writer, tasks []execution.TaskSummary) error {
	var flows []execution.TaskSummary
	for _, ts := range tasks {
		if ts.DataFlow != nil {
			flows = append(flows, ts)
		}
	}
	if len(flows) == 0 {
		return nil
	}
	fmt.Fprintln(out, "\nDATA FLOW")
	t := newTable(out, "TASK", "PATH", "ROWS")
	for _, ts := range flows {
		for _, p := range ts.DataFlow.Paths {
			t.row(ts.Path, p.Path, strconv.FormatInt(p.Rows, 10))
		}
		if n := ts.DataFlow.PathsOmitted; n > 0 {
			t.row(ts.Path, fmt.Sprintf("(%d more paths: see scaleout logs)", n), "")
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, ts := range flows {
		d := ts.DataFlow
		line := fmt.Sprintf("%s: %d rows read, %d written, %d rejected; batches held at most %s", ts.Path,
			d.RowsRead, d.RowsWritten, d.RowsRejected, byteSize(d.MemoryPeakBytes))
		if d.Tap != nil {
			line += fmt.Sprintf("; %s of %s tapped (see -o json)", rows(len(d.Tap.Rows)), d.Tap.Path)
		}
		fmt.Fprintln(out, line)
	}
	return nil
}

// rows is "1 row" or "n rows".
func rows(n int) string {
	if n == 1 {
		return "1 row"
	}
	return strconv.Itoa(n) + " rows"
}

// byteSize is n bytes for people: 512 B, 1.5 KiB, 256.0 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
