package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// rssRows is the rows the peak RSS figure streams through a flow.
const rssRows = 10_000_000

// rssChildEnv, set to a directory holding sales.csv, makes the command
// run the peak RSS figure's flow and nothing else (the child process
// runPeakRSS starts).
const rssChildEnv = "SCALEOUT_BENCH_DATAFLOW_RSS_DIR"

// rssGraph is the flow whose peak RSS is measured: non-blocking, every
// row read, given a derived column and counted.
func rssGraph() map[string]any {
	return mustGraph(`
components:
  - name: read
    type: csv_source
    settings: {file: sales.csv, columns: ` + csvColumns + `}
  - name: derive
    type: derived_column
    input: read
    settings: {columns: [{name: gross, expression: "amount * 1.2"}]}
  - name: count
    type: row_count
    input: derive
    settings: {variable: counted}
`)
}

// runPeakRSS prints dataflow.peak_rss_mb: the peak resident set of a
// separate process (this command again, started with rssChildEnv) that
// runs rssGraph over a 10,000,000-row CSV file (the same columns as the
// load's, about 400 MB, written to a temporary directory and removed
// after), read from the child's rusage once it has exited. It is what
// the whole process holds at its peak (Go runtime, code and every
// batch in flight), not only the flow's batches.
func runPeakRSS(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "scaleout-bench-rss-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	t0 := time.Now()
	if err := writeSalesCSV(filepath.Join(dir, "sales.csv"), rssRows); err != nil {
		return err
	}
	info, err := os.Stat(filepath.Join(dir, "sales.csv"))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "# dataflow: wrote %d CSV rows (%.0f MB) in %v\n", rssRows, float64(info.Size())/1e6,
		time.Since(t0).Round(time.Millisecond))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), rssChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	t0 = time.Now()
	out, err := cmd.Output()
	el := time.Since(t0)
	if err != nil {
		return fmt.Errorf("the peak RSS flow's process: %w", err)
	}
	var counted int64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "counted %d", &counted); err != nil || counted != rssRows {
		return fmt.Errorf("the peak RSS flow counted %q, not %d rows", strings.TrimSpace(string(out)), rssRows)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errNoRusage
	}
	kib := float64(ru.Maxrss) // KiB on Linux
	if runtime.GOOS == "darwin" {
		kib /= 1024 // bytes there
	}
	fmt.Fprintf(os.Stderr, "# dataflow: %d rows csv_source -> derived_column -> row_count in a child process: %v (%.0f rows/s)\n",
		rssRows, el.Round(time.Millisecond), rowsPerSecond(rssRows, el))
	fmt.Printf("bench: dataflow.peak_rss_mb %.0f MB\n", kib/1024)
	return nil
}

// rssChild is the child's side of runPeakRSS: it runs rssGraph in dir
// and prints the rows counted.
func rssChild(ctx context.Context, dir string) error {
	out, err := runDataflowTask(ctx, nil, dir, rssGraph())
	if err != nil {
		return err
	}
	fmt.Printf("counted %v\n", out["counted"])
	return nil
}

var errNoRusage = errors.New("the child's resource usage is not available on this system")
