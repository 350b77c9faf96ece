package transform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/builtin"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
)

// TestBlockingFlow runs lookup, sort and aggregate together as a package
// writes them, through the built-in registry: orders looked up in a CSV
// of customers, sorted past memory_limit, then totalled per region.
func TestBlockingFlow(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "customers.csv"), []byte("id,region\n1,north\n2,south\n3,north\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const repeat = 3000
	res := dataflowtest.MustRun(t, `
batch_rows: 200
memory_limit: 64KiB
components:
  - name: orders
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: customer, type: int32}, {name: amount, type: float64}]
      rows: [[1, 1, 10.5], [2, 2, 4], [3, 3, 1.5], [4, 4, 100], [5, null, 7]]
      repeat: `+fmt.Sprint(repeat)+`
  - name: look
    type: lookup
    input: orders
    settings:
      file: customers.csv
      columns: [{name: id, type: int64}, {name: region, type: string}]
      join: [{input: customer, reference: id}]
      return: [{column: region}]
      no_match: redirect
  - name: sorted
    type: sort
    input: look.match
    settings:
      columns: [{column: region, order: desc}, {column: amount}]
  - name: totals
    type: aggregate
    input: sorted
    settings:
      group_by: [region]
      aggregations: [{function: count, as: orders}, {function: sum, column: amount, as: total}, {function: max, column: id}]
  - name: got
    type: collect
    input: totals
  - name: unmatched
    type: collect
    input: look.no_match
    settings: {keep: false}
`, dataflowtest.Use(builtin.Register), dataflowtest.WithEnv(dataflow.Env{Dir: dir}))
	got := res.Collected("got").Rows()
	want := [][]any{
		{"south", int64(repeat), 4.0 * repeat, int64(2)},
		{"north", int64(2 * repeat), 12.0 * repeat, int64(3)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	held, _ := res.Output["memory_held_peak_bytes"].(int64)
	if held <= 0 || held > 64<<10 {
		t.Errorf("memory_held_peak_bytes is %v, want some bytes within memory_limit 64KiB", res.Output["memory_held_peak_bytes"])
	}
	if n := res.Collected("unmatched").Count(); n != 2*repeat {
		t.Errorf("%d rows without a customer, want %d", n, 2*repeat)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("the scratch directory holds %d entries after the run, want only customers.csv", len(left))
	}
}

// TestBlockingCheck: validation reports the blocking components' bad
// settings, each with its field.
func TestBlockingCheck(t *testing.T) {
	err := dataflowtest.Check(t, `
components:
  - name: orders
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: region, type: string}]
      rows: [[1, a]]
  - name: more
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: region, type: string}]
      rows: [[1, a]]
  - name: sorted
    type: sort
    input: orders
    settings: {columns: [{column: regoin}]}
  - name: totals
    type: aggregate
    input: more
    settings: {aggregations: [{function: avg, column: region}]}
  - name: look
    type: lookup
    input: totals
    settings: {query: "SELECT 1", join: [{input: x, reference: y}]}
`, dataflowtest.Use(builtin.Register))
	if err == nil {
		t.Fatal("the graph passed validation")
	}
	for _, want := range []string{
		`settings.columns[0].column: the input has no column "regoin"; did you mean "region"?`,
		`settings.aggregations[0].column: avg needs a number column, and "region" is string`,
		`settings.connection: required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("validation error %q does not say %q", err, want)
		}
	}
}

// TestSortFailsWhileMerging: a consumer failing while a spilled sort
// merges its runs ends the flow with its error, every batch released
// (dataflowtest checks) and the runs removed.
func TestSortFailsWhileMerging(t *testing.T) {
	for _, consumer := range []string{"fail_after: 700", "stop_after: 700"} {
		t.Run(consumer, func(t *testing.T) {
			dir := t.TempDir()
			res := dataflowtest.Run(t, `
batch_rows: 100
memory_limit: 16KiB
components:
  - name: orders
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: name, type: string}]
      rows: [[3, "three things"], [1, "one thing"], [2, "two things"], [5, "five things"]]
      repeat: 2500
  - name: sorted
    type: sort
    input: orders
    settings: {columns: [{column: name}, {column: id, order: desc}]}
  - name: got
    type: collect
    input: sorted
    settings: {`+consumer+`}
`, dataflowtest.Use(builtin.Register), dataflowtest.WithEnv(dataflow.Env{Dir: dir}))
			if strings.HasPrefix(consumer, "fail") && res.Err == nil {
				t.Error("the flow succeeded with a failing consumer")
			}
			if strings.HasPrefix(consumer, "stop") && res.Err != nil {
				t.Errorf("a consumer that stops early failed the flow: %v", res.Err)
			}
			if n := res.Collected("got").Count(); n < 700 {
				t.Errorf("the consumer got %d rows before it ended, want 700", n)
			}
			if left, _ := os.ReadDir(dir); len(left) > 0 {
				t.Errorf("the scratch directory still holds %v", left)
			}
		})
	}
}
