// Command bench prints the engine's figures as `bench: NAME VALUE UNIT`
// lines: the overhead per no-op task of running wide packages (N
// independent tasks) and deep ones (a chain of N tasks, each after the
// previous), for N = 1k, 10k and 100k. engine.task_overhead_N is the worse
// of the two shapes. Each figure is the median of several runs (more for
// small N), after one warm-up run, with a GC before each run so that one
// run's garbage is not charged to the next. Compiling is measured apart
// (median of three).
//
// Then, against its own local AWS stand-ins (started on
// SCALEOUT_DYNAMODB_PORT, default 8200, and SCALEOUT_SQS_PORT, default 9524,
// and stopped at the end), it runs the API and two workers in this process
// and prints the dispatch latency (dispatch.p50/p95/p99) and the same path
// with bare SDK calls (dispatch.floor_p50: PutItem, SendMessage, long-poll
// receive, conditional claim, at the same load), the throughput of no-op
// executions against the stand-ins' own ceiling for the same calls
// (throughput.*), the SDK calls per execution (calls.per_execution) and the
// DynamoDB items written per execution (writes.items_per_execution).
//
// The cost figures (cost.*) come from the SDK calls metered by
// internal/aws/awsmeter, DynamoDB's own consumed capacity included: the write and
// read units and the SQS requests per no-op execution (the API's and the
// workers' calls, and the stream function's aggregate writes, its handler
// run on the executions' stream records batched as the stack's event
// source mapping would batch them at 100 executions/s), the same per
// execution per minute of running (a second system, alongside: one worker
// of concurrency 4 with default settings running 4 long executions), and
// the USD of a million executions at internal/aws/pricing's list prices, with and
// without 10 running minutes each. Each component goes to stderr.
// sql.task_overhead_ms is what a `SELECT 1` sql task adds to the bare
// driver call on the same pool, on a PostgreSQL server the command starts
// (internal/testkit/dbtest's; -sql=false skips it), median of 200.
// The dataflow task's figures (-dataflow=false skips them) run on a
// PostgreSQL server of the command's own and a temporary directory:
//   - dataflow.csv_to_postgres_rows_per_s: a generated 1,000,000-row CSV
//     file (id, name, amount, day) loaded by a dataflow task
//     (csv_source -> derived_column -> sql_destination, COPY), median of 5;
//   - dataflow.copy_ratio: that over the rows/s of psql's \copy of the same
//     file, the two loads interleaved on truncated tables, median of 5
//     (target >= 0.8; without psql, pgx's COPY FROM STDIN of the file, and
//     the line says so);
//   - dataflow.postgres_to_parquet_rows_per_s: sql_source (the loaded table)
//     -> parquet_destination, median of 3;
//   - dataflow.peak_rss_mb: the peak RSS of a child process (this command,
//     re-run with SCALEOUT_BENCH_DATAFLOW_RSS_DIR set) streaming a
//     10,000,000-row CSV file through csv_source -> derived_column ->
//     row_count, from its rusage (target <= 256).
//
// The method and the per-call breakdown go to stderr; only `bench:` lines
// go to stdout. -engine=false, -sql=false, -dataflow=false or -system=false
// skip a part.
//
//	go run ./cmd/bench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/streamgen"
)

// noop is a task type that does nothing.
type noop struct{}

func (noop) Check(map[string]any) error                           { return nil }
func (noop) Run(context.Context, task.Input) (task.Output, error) { return nil, nil }

func main() {
	if dir := os.Getenv(rssChildEnv); dir != "" {
		if err := rssChild(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, "bench: dataflow peak RSS flow:", err)
			os.Exit(1)
		}
		return
	}
	engineFigures := flag.Bool("engine", true, "print the engine's figures")
	streamFigures := flag.Bool("stream", true, "print the stream function's fold figures")
	systemFigures := flag.Bool("system", true, "print the figures of the API and workers on the local stand-ins")
	sqlFigures := flag.Bool("sql", true, "print the sql task's overhead over the bare driver call, on a PostgreSQL server of its own")
	dataflowFigures := flag.Bool("dataflow", true, "print the dataflow task's figures, on a PostgreSQL server of its own")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := func() error {
		if *engineFigures {
			if err := run(); err != nil {
				return err
			}
		}
		if *streamFigures {
			runStream()
		}
		if *sqlFigures {
			if err := runSQL(ctx); err != nil {
				return err
			}
		}
		if *dataflowFigures {
			if err := runDataflow(ctx); err != nil {
				return err
			}
			if err := runPeakRSS(ctx); err != nil {
				return err
			}
		}
		if *systemFigures {
			return runSystem(ctx)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func run() error {
	types := task.NewRegistry()
	types.MustRegister("noop", noop{})
	fmt.Fprintf(os.Stderr, "# %d CPUs, GOMAXPROCS %d, max_parallel %d; median of runs; µs per no-op task\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), engine.DefaultMaxParallel)
	for _, size := range []struct {
		n     int
		label string
		runs  int
	}{{1_000, "1k", 41}, {10_000, "10k", 11}, {100_000, "100k", 5}} {
		worst := 0.0
		for _, shape := range []struct {
			name  string
			build func(int) *pkgfile.Package
		}{{"wide", wide}, {"deep", deep}} {
			p := shape.build(size.n)
			var plan *engine.Plan
			var compiles []float64
			for range 3 {
				runtime.GC()
				t0 := time.Now()
				var err error
				if plan, err = engine.Compile(p, types); err != nil {
					return err
				}
				compiles = append(compiles, us(time.Since(t0))/float64(size.n))
			}
			slices.Sort(compiles)
			perTask, err := measure(plan, size.n, size.runs)
			if err != nil {
				return fmt.Errorf("%s %s: %w", shape.name, size.label, err)
			}
			worst = max(worst, perTask)
			fmt.Printf("bench: engine.task_overhead_%s_%s %.2f us\n", shape.name, size.label, perTask)
			fmt.Printf("bench: engine.compile_%s_%s %.2f us\n", shape.name, size.label, compiles[1])
		}
		fmt.Printf("bench: engine.task_overhead_%s %.2f us\n", size.label, worst)
	}
	return nil
}

// runStream prints the stream function's fold figures: 20,000 generated
// records in batches of foldBatchSize, best of three.
func runStream() {
	fmt.Fprintf(os.Stderr, "stream: folding 20,000 generated records in batches of %d, in-process, best of 3\n", foldBatchSize)
	var best, writes float64
	for range 3 {
		rps, wpb := benchFold(20_000)
		if rps > best {
			best, writes = rps, wpb
		}
	}
	fmt.Printf("bench: stream.records_per_s %.0f records/s\n", best)
	fmt.Printf("bench: stream.writes_per_batch %.1f writes\n", writes)
}

// foldBatchSize is the batch size benchFold folds, Lambda's default.
const foldBatchSize = 100

// benchFold measures the stream function's fold work in-process: n
// generated stream records (executions of a few packages, pools and
// workers with mixed outcomes) planned in batches of foldBatchSize. It
// returns the records planned per second (stream.records_per_s) and the
// writes a batch needs on average (stream.writes_per_batch: one per
// aggregate item the batch touches).
func benchFold(n int) (recordsPerSecond, writesPerBatch float64) {
	recs := streamgen.Generate(streamgen.Options{Seed: 1, Records: n, Start: time.Now().Add(-time.Hour)})
	var batches, writes int
	start := time.Now()
	for i := 0; i < len(recs); i += foldBatchSize {
		ups, err := aggregate.Plan("", "shardId-bench", recs[i:min(i+foldBatchSize, len(recs))], aggregate.DefaultRetention)
		if err != nil {
			panic(err) // generated records are well formed
		}
		batches++
		writes += len(ups) // one UpdateItem per item touched
	}
	el := time.Since(start).Seconds()
	return float64(len(recs)) / el, float64(writes) / float64(batches)
}

// measure runs the plan once to warm up, then runs times, and returns the
// median µs per task.
func measure(plan *engine.Plan, n, runs int) (float64, error) {
	var per []float64
	for i := range runs + 1 {
		runtime.GC()
		t0 := time.Now()
		res, err := engine.Run(context.Background(), plan, engine.RunOptions{})
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if res.Status != engine.Succeeded {
			return 0, fmt.Errorf("run %s: %s", res.Status, res.Error)
		}
		if i > 0 {
			per = append(per, us(d)/float64(n))
		}
	}
	slices.Sort(per)
	return per[len(per)/2], nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// wide is n independent no-op tasks.
func wide(n int) *pkgfile.Package {
	p := &pkgfile.Package{Name: "wide", Tasks: make([]pkgfile.Task, n)}
	for i := range p.Tasks {
		p.Tasks[i] = pkgfile.Task{Name: "t" + strconv.Itoa(i), Type: "noop"}
	}
	return p
}

// deep is a chain of n no-op tasks, each after the previous.
func deep(n int) *pkgfile.Package {
	p := wide(n)
	p.Name = "deep"
	for i := 1; i < n; i++ {
		p.Tasks[i].After = []pkgfile.Constraint{{Task: p.Tasks[i-1].Name}}
	}
	return p
}
