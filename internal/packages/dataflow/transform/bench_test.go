package transform_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
)

// BenchmarkDerivedColumn measures rows per second through values ->
// derived_column -> collect.
func BenchmarkDerivedColumn(b *testing.B) {
	var rows int64
	for b.Loop() {
		res := dataflowtest.MustRun(b, `
batch_rows: 10000
components:
  - name: src
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: name, type: string}, {name: price, type: float64}]
      rows: [[1, alpha, 1.5], [2, beta, 2.5], [3, gamma, 3.5], [4, delta, 4.5]]
      repeat: 250000
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: total, expression: "price * id"}]}
  - {name: sink, type: collect, input: derive, settings: {keep: false}}
`, use)
		rows += res.Collected("sink").Count()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
