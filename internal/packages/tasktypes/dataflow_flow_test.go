package tasktypes

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// The dataflow task end to end, as a package runs it: the built-in
// components, a scratch directory, real files and a real PostgreSQL.

// writeCSV writes rows lines of header then row(i) to name in dir, and
// returns its size.
func writeCSV(t *testing.T, dir, name, header string, rows int, row func(i int) string) int64 {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString(header + "\n")
	for i := range rows {
		_, _ = w.WriteString(row(i) + "\n")
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	st, err := os.Stat(filepath.Join(dir, name))
	require.NoError(t, err)
	return st.Size()
}

// flowInput is the input of a dataflow task whose `with` is graph
// (YAML), on dir and conns, with a recording log.
func flowInput(t *testing.T, graph, dir string, conns task.Connections) (task.Input, *fakeLog) {
	t.Helper()
	var with map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(graph), &with))
	in, log := input(with)
	in.Dir, in.Connections = dir, conns
	return in, log
}

// runFlow runs a dataflow task whose `with` is graph (YAML) on dir and
// conns; it returns the task's output, the lines and warnings it logged
// as one text, and its error.
func runFlow(ctx context.Context, t *testing.T, graph, dir string, conns task.Connections) (task.Output, string, error) {
	t.Helper()
	in, log := flowInput(t, graph, dir, conns)
	out, err := Dataflow{}.Run(ctx, in)
	var text strings.Builder
	for _, l := range log.Lines() {
		text.WriteString(l.line + "\n")
	}
	for _, w := range log.Warnings() {
		text.WriteString(w + "\n")
	}
	return out, text.String(), err
}

// A stop while a CSV file streams into PostgreSQL by COPY: the task
// returns promptly with the stop, the table keeps none of the rows, and
// no COPY is left running on the server.
func TestDataflowTaskStopMidCopy(t *testing.T) {
	t.Parallel()
	set, db := sqlSetup(t, sqlServers[0])
	_, err := db.ExecContext(t.Context(), "CREATE TABLE sales (id bigint PRIMARY KEY, region text, amount double precision)")
	require.NoError(t, err)
	dir := t.TempDir()
	writeCSV(t, dir, "sales.csv", "id,region,amount", 500_000, func(i int) string {
		return strconv.Itoa(i) + ",region-" + strconv.Itoa(i%17) + "," + strconv.Itoa(i%1000) + ".25"
	})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		out task.Output
		err error
		at  time.Time
	}
	in, _ := flowInput(t, `
components:
  - name: read
    type: csv_source
    settings: {file: sales.csv, columns: [{name: id, type: int64}, {name: region, type: string}, {name: amount, type: float64}]}
  - {name: write, type: sql_destination, input: read, settings: {connection: db, table: sales}}
`, dir, set)
	done := make(chan result, 1)
	go func() {
		out, err := Dataflow{}.Run(ctx, in)
		done <- result{out, err, time.Now()}
	}()

	activeCopies := func() int {
		var n int
		err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'copy%' AND state = 'active' AND pid <> pg_backend_pid()").Scan(&n)
		require.NoError(t, err)
		return n
	}
	// Stop once the COPY runs on the server.
	deadline := time.Now().Add(30 * time.Second)
	for activeCopies() == 0 {
		select {
		case r := <-done:
			t.Fatalf("the flow ended (%v) before its COPY was seen running: give it more rows", r.err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no COPY running after 30s")
		time.Sleep(5 * time.Millisecond)
	}
	stopped := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the task still runs 15s after the stop")
	}
	require.ErrorIs(t, r.err, context.Canceled)
	assert.Less(t, r.at.Sub(stopped), 5*time.Second, "the task returns promptly after a stop")

	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM sales").Scan(&n))
	assert.Zero(t, n, "the stopped COPY keeps no row")
	require.Eventually(t, func() bool { return activeCopies() == 0 }, 10*time.Second, 20*time.Millisecond,
		"a COPY still runs on the server after the task returned")
}

// A sort whose input is many times memory_limit: it spills to the
// scratch directory and the whole input comes out in order, while what
// it held stays within the limit and the spill files are gone after.
func TestDataflowTaskSortLargerThanMemoryLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	const rows = 60_000
	keys := make([]int64, rows)
	for i := range keys {
		keys[i] = rng.Int64N(1 << 40)
	}
	size := writeCSV(t, dir, "in.csv", "id,key,note", rows, func(i int) string {
		return fmt.Sprintf("%d,%d,note of row %d", i, keys[i], i)
	})
	const limit = 256 << 10
	require.Greater(t, size, int64(4*limit), "the input is larger than memory_limit")

	out, logged, err := runFlow(t.Context(), t, `
batch_rows: 1000
memory_limit: 256KiB
components:
  - name: read
    type: csv_source
    settings: {file: in.csv, columns: [{name: id, type: int64}, {name: key, type: int64}, {name: note, type: string}]}
  - {name: sorted, type: sort, input: read, settings: {columns: [{column: key}, {column: id}]}}
  - {name: write, type: csv_destination, input: sorted, settings: {file: out.csv}}
`, dir, nil)
	require.NoError(t, err)
	assert.Contains(t, logged, "spills to the scratch directory", "the sort spilled")
	assert.Equal(t, int64(rows), out["rows_read"])
	assert.Equal(t, int64(rows), out["rows_written"])
	held, _ := out["memory_held_peak_bytes"].(int64)
	assert.Positive(t, held, "the sort held rows")
	assert.LessOrEqual(t, held, int64(limit), "the sort held more than memory_limit")

	f, err := os.Open(filepath.Join(dir, "out.csv"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	r := csv.NewReader(bufio.NewReader(f))
	head, err := r.Read()
	require.NoError(t, err)
	require.Equal(t, []string{"id", "key", "note"}, head)
	type pair struct{ key, id int64 }
	var got []pair
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		id, err1 := strconv.ParseInt(rec[0], 10, 64)
		key, err2 := strconv.ParseInt(rec[1], 10, 64)
		require.NoError(t, err1)
		require.NoError(t, err2)
		require.Equal(t, keys[id], key, "row %d's key", id)
		require.Equal(t, fmt.Sprintf("note of row %d", id), rec[2])
		got = append(got, pair{key, id})
	}
	require.Len(t, got, rows)
	assert.True(t, slices.IsSortedFunc(got, func(a, b pair) int {
		if a.key != b.key {
			return compareInt(a.key, b.key)
		}
		return compareInt(a.id, b.id)
	}), "out.csv is not sorted by key, id")
	ids := map[int64]bool{}
	for _, p := range got {
		ids[p.id] = true
	}
	assert.Len(t, ids, rows, "every row once")

	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"in.csv", "out.csv"}, names, "the sort's spill files are removed")
}

// An aggregate with more groups than memory_limit holds fails the task
// with an error naming the component and the limit, and writes nothing.
func TestDataflowTaskAggregateOverMemoryLimitFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const rows = 100_000
	size := writeCSV(t, dir, "in.csv", "customer,amount", rows, func(i int) string {
		return fmt.Sprintf("customer-%07d,%d", i, i%100)
	})
	require.Greater(t, size, int64(256<<10))

	_, _, err := runFlow(t.Context(), t, `
memory_limit: 256KiB
components:
  - name: read
    type: csv_source
    settings: {file: in.csv, columns: [{name: customer, type: string}, {name: amount, type: int64}]}
  - name: totals
    type: aggregate
    input: read
    settings: {group_by: [customer], aggregations: [{function: sum, column: amount, as: total}]}
  - {name: write, type: csv_destination, input: totals, settings: {file: totals.csv}}
`, dir, nil)
	require.Error(t, err)
	for _, want := range []string{`component "totals" (aggregate)`, "memory_limit (256.0 KiB)", "groups"} {
		assert.Contains(t, err.Error(), want)
	}
	_, statErr := os.Stat(filepath.Join(dir, "totals.csv"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "a failed flow leaves no output file")
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
