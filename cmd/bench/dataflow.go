package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

// The dataflow figures' sizes and rounds.
const (
	dataflowRows = 1_000_000 // rows of the CSV file loaded into PostgreSQL
	loadRounds   = 5         // rounds of each load, interleaved
	exportRounds = 3         // rounds of the Parquet export
)

// The tables the loads write. flow_t has the derived column (gross) the
// flow adds; psql_t has the same columns minus it, since \copy loads the
// file as it is.
const (
	flowTable = `CREATE TABLE flow_t (id bigint, name text, amount numeric(12,2), day date, gross double precision)`
	psqlTable = `CREATE TABLE psql_t (id bigint, name text, amount numeric(12,2), day date)`
)

// csvColumns are the declared columns of the generated CSV files.
const csvColumns = `[{name: id, type: int64}, {name: name, type: string}, {name: amount, type: float64}, {name: day, type: date}]`

// runDataflow prints the dataflow task's figures, on a PostgreSQL server
// of its own (dbtest's) and a temporary directory it removes:
//
//   - dataflow.csv_to_postgres_rows_per_s: a 1,000,000-row CSV file
//     (id, name, amount, day) loaded by a dataflow task run as the engine
//     runs it (csv_source -> derived_column adding gross = amount * 1.2 ->
//     sql_destination, which uses COPY), median of loadRounds;
//   - dataflow.copy_ratio: that over the rows/s of psql's \copy of the same
//     file into a table of the same columns minus gross, median of
//     loadRounds, the two loads interleaved on freshly truncated tables;
//   - dataflow.postgres_to_parquet_rows_per_s: sql_source (SELECT of the
//     loaded table) -> parquet_destination, median of exportRounds;
//   - dataflow.peak_rss_mb: see runPeakRSS.
func runDataflow(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "scaleout-bench-dataflow-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	csvPath := filepath.Join(dir, "sales.csv")
	t0 := time.Now()
	if err := writeSalesCSV(csvPath, dataflowRows); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "# dataflow: wrote %d CSV rows in %v\n", dataflowRows, time.Since(t0).Round(time.Millisecond))

	d, stop, err := dbtest.Start(dbtest.KindPostgres)
	if err != nil {
		return fmt.Errorf("dataflow figures: starting PostgreSQL (bash tools/databases/install.sh installs it; -dataflow=false skips this part): %w", err)
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dataflow:", err)
		}
	}()
	c := connection.Connection{Name: "db", Kind: connection.Postgres, Host: d.Host, Port: d.Port, Database: d.Name,
		User: d.User, Password: connection.Secret(d.Password), Options: map[string]string{"sslmode": "disable"}}
	set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
	if err != nil {
		return err
	}
	defer set.Close() //nolint:errcheck // the bench's own pool
	db, err := set.DB(ctx, "db")
	if err != nil {
		return err
	}
	for _, q := range []string{flowTable, psqlTable} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the bench's tables: %w", err)
		}
	}
	count := func(table string) error {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return err
		}
		if n != dataflowRows {
			return fmt.Errorf("%s has %d rows after the load, not %d", table, n, dataflowRows)
		}
		return nil
	}
	truncate := func(table string) error {
		_, err := db.ExecContext(ctx, "TRUNCATE "+table)
		return err
	}

	load := loadGraph()
	flowLoad := func() (time.Duration, error) {
		if err := truncate("flow_t"); err != nil {
			return 0, err
		}
		start := time.Now()
		out, err := runDataflowTask(ctx, set, dir, load)
		el := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("the CSV -> PostgreSQL flow: %w", err)
		}
		if out["rows_written"] != int64(dataflowRows) {
			return 0, fmt.Errorf("the CSV -> PostgreSQL flow wrote %v rows, not %d", out["rows_written"], dataflowRows)
		}
		return el, count("flow_t")
	}
	copier, how := psqlCopier(d, csvPath)
	copyLoad := func() (time.Duration, error) {
		if err := truncate("psql_t"); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := copier(ctx); err != nil {
			return 0, err
		}
		el := time.Since(start)
		return el, count("psql_t")
	}
	var flows, copies []time.Duration
	for range loadRounds {
		f, err := flowLoad()
		if err != nil {
			return err
		}
		p, err := copyLoad()
		if err != nil {
			return err
		}
		flows, copies = append(flows, f), append(copies, p)
	}
	flowRate, copyRate := rowsPerSecond(dataflowRows, median(flows)), rowsPerSecond(dataflowRows, median(copies))
	fmt.Fprintf(os.Stderr, "# dataflow: %d rows CSV -> PostgreSQL, median of %d interleaved: flow %v (%s), %s %v (%s)\n",
		dataflowRows, loadRounds, durations(flows), median(flows).Round(time.Millisecond),
		how, durations(copies), median(copies).Round(time.Millisecond))
	fmt.Printf("bench: dataflow.csv_to_postgres_rows_per_s %.0f rows/s\n", flowRate)
	if how != "psql" {
		fmt.Printf("bench: dataflow.copy_ratio %.2f ratio # against %s: psql was not found\n", flowRate/copyRate, how)
	} else {
		fmt.Printf("bench: dataflow.copy_ratio %.2f ratio\n", flowRate/copyRate)
	}

	export := exportGraph()
	var exports []time.Duration
	for i := range exportRounds {
		start := time.Now()
		out, err := runDataflowTask(ctx, set, dir, export)
		el := time.Since(start)
		if err != nil {
			return fmt.Errorf("the PostgreSQL -> Parquet flow: %w", err)
		}
		if out["rows_written"] != int64(dataflowRows) {
			return fmt.Errorf("the PostgreSQL -> Parquet flow wrote %v rows, not %d", out["rows_written"], dataflowRows)
		}
		if i == 0 {
			if info, err := os.Stat(filepath.Join(dir, "sales.parquet")); err == nil {
				fmt.Fprintf(os.Stderr, "# dataflow: sales.parquet is %.1f MB\n", float64(info.Size())/1e6)
			}
		}
		exports = append(exports, el)
	}
	fmt.Fprintf(os.Stderr, "# dataflow: %d rows PostgreSQL -> Parquet, median of %d: %v\n",
		dataflowRows, exportRounds, durations(exports))
	fmt.Printf("bench: dataflow.postgres_to_parquet_rows_per_s %.0f rows/s\n", rowsPerSecond(dataflowRows, median(exports)))
	return nil
}

// loadGraph is the CSV -> PostgreSQL flow.
func loadGraph() map[string]any {
	return mustGraph(`
components:
  - name: read
    type: csv_source
    settings: {file: sales.csv, columns: ` + csvColumns + `}
  - name: derive
    type: derived_column
    input: read
    settings: {columns: [{name: gross, expression: "amount * 1.2"}]}
  - name: load
    type: sql_destination
    input: derive
    settings: {connection: db, table: flow_t}
`)
}

// exportGraph is the PostgreSQL -> Parquet flow.
func exportGraph() map[string]any {
	return mustGraph(`
components:
  - name: read
    type: sql_source
    settings: {connection: db, query: "SELECT id, name, amount, day, gross FROM flow_t"}
  - name: write
    type: parquet_destination
    input: read
    settings: {file: sales.parquet, overwrite: true}
`)
}

// mustGraph reads a graph written in YAML, as a package file gives it.
func mustGraph(src string) map[string]any {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		panic(err) // the bench's own graphs are well formed
	}
	return m
}

// runDataflowTask runs the dataflow task type as the engine calls it for
// an attempt: settings checked, then Run.
func runDataflowTask(ctx context.Context, conns task.Connections, dir string, with map[string]any) (task.Output, error) {
	df := tasktypes.Dataflow{}
	if err := df.Check(with); err != nil {
		return nil, err
	}
	return df.Run(ctx, task.Input{Task: "flow", Attempt: 1, With: with, Connections: conns, Dir: dir})
}

// psqlCopier returns what loads the CSV file into psql_t the way an
// operator would by hand: `psql -c "\copy psql_t FROM 'file' CSV HEADER"`
// over TCP, as the flow connects. Where psql is not installed it falls
// back to COPY FROM STDIN of the raw file through pgx (the second result
// says which).
func psqlCopier(d dbtest.Database, csvPath string) (func(context.Context) error, string) {
	if psql, ok := findPsql(); ok {
		return func(ctx context.Context) error {
			cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
				"-h", d.Host, "-p", strconv.Itoa(d.Port), "-U", d.User, "-d", d.Name,
				"-c", `\copy psql_t FROM '`+strings.ReplaceAll(csvPath, "'", "''")+`' CSV HEADER`)
			cmd.Env = append(os.Environ(), "PGPASSWORD="+d.Password, "PGSSLMODE=disable")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("psql \\copy: %w: %s", err, strings.TrimSpace(string(out)))
			}
			return nil
		}, "psql"
	}
	return func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, d.DSN())
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(ctx) }()
		f, err := os.Open(csvPath)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = conn.PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20), "COPY psql_t FROM STDIN (FORMAT csv, HEADER true)")
		return err
	}, "pgx COPY FROM STDIN"
}

// findPsql finds psql: on PATH, else in the newest of Debian's
// /usr/lib/postgresql/<version>/bin, where the server's programs are.
func findPsql() (string, bool) {
	if p, err := exec.LookPath("psql"); err == nil {
		return p, true
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	for _, dir := range dirs {
		p := filepath.Join(dir, "psql")
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// writeSalesCSV writes rows generated rows (id, name, amount, day) with a
// header line, streaming.
func writeSalesCSV(path string, rows int) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteString("id,name,amount,day\n"); err != nil {
		return err
	}
	day0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	line := make([]byte, 0, 64)
	for i := 1; i <= rows; i++ {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ",customer "...)
		line = strconv.AppendInt(line, int64(i%9973), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(i%100_000), 10)
		line = append(line, '.')
		cents := i % 100
		line = append(line, byte('0'+cents/10), byte('0'+cents%10), ',')
		line = day0.AddDate(0, 0, i%730).AppendFormat(line, time.DateOnly)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return w.Flush()
}

func rowsPerSecond(rows int, d time.Duration) float64 { return float64(rows) / d.Seconds() }

// durations is ds rounded to milliseconds, for the method line.
func durations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(s, " ")
}
