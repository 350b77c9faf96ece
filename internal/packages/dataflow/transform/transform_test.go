package transform_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
	"github.com/scaleout/scaleout/internal/packages/task"
)

var use = dataflowtest.Use(transform.Register)

const source = `
  - name: src
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: price, type: string}, {name: qty, type: int64}]
      rows: [[1, "2.5", 4], [2, "x", 1], [3, "10", 3], [4, null, 2]]
`

func TestDerivedColumn(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: derive
    type: derived_column
    input: src
    settings:
      columns:
        - {name: double, expression: "qty * 2"}
        - {name: label, expression: "'#' + string(id)"}
        - {name: qty, expression: "qty + params.bump", type: float64}
  - name: sink
    type: collect
    input: derive
`, use, dataflowtest.WithEnv(dataflowEnv(map[string]any{"bump": 10})))
	got := res.Collected("sink")
	require.Equal(t, []string{"id", "price", "qty", "double", "label"}, fieldNames(got))
	require.Equal(t, []any{14.0, 11.0, 13.0, 12.0}, got.Column("qty"))
	require.Equal(t, []any{int64(8), int64(2), int64(6), int64(4)}, got.Column("double"))
	require.Equal(t, []any{"#1", "#2", "#3", "#4"}, got.Column("label"))
}

func TestDerivedColumnRedirect(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: derive
    type: derived_column
    input: src
    on_error: redirect
    settings:
      columns: [{name: total, expression: "float(price) * qty", type: float64}]
  - name: sink
    type: collect
    input: derive
  - name: bad
    type: collect
    input: derive.error
`, use)
	// Row 4's price is null: its total is null, as in SQL, not an error.
	require.Equal(t, []any{int64(1), int64(3), int64(4)}, res.Collected("sink").Column("id"))
	require.Equal(t, []any{10.0, 30.0, nil}, res.Collected("sink").Column("total"))
	bad := res.Collected("bad")
	require.Equal(t, []any{int64(2)}, bad.Column("id"))
	require.Equal(t, []any{"x"}, bad.Column("price"))
	require.Equal(t, []any{"derive"}, bad.Column("error_component"))
	require.Len(t, bad.Column("error_reason"), 1)
	require.Contains(t, bad.Column("error_reason")[0], `column "total": expression "float(price) * qty"`)
	require.Equal(t, int64(1), res.Output["rows_rejected"])
	require.Equal(t, int64(1), res.Output["paths"].(map[string]any)["derive.error"])
}

func TestDerivedColumnFailAndIgnore(t *testing.T) {
	t.Parallel()
	graph := func(policy string) string {
		return `
components:` + source + `
  - name: derive
    type: derived_column
    input: src
    on_error: ` + policy + `
    settings:
      columns: [{name: total, expression: "float(price) * qty", type: float64}]
  - name: sink
    type: collect
    input: derive
`
	}
	res := dataflowtest.Run(t, graph("fail"), use)
	require.ErrorContains(t, res.Err, `component "derive" (derived_column): column "total"`)
	require.ErrorContains(t, res.Err, "on_error is fail")
	require.ErrorIs(t, res.Err, task.ErrPermanent, "a failing row fails every attempt")

	res = dataflowtest.MustRun(t, graph("ignore"), use)
	require.Equal(t, []any{int64(1), int64(3), int64(4)}, res.Collected("sink").Column("id"))
	require.Equal(t, int64(1), res.Output["rows_rejected"])
}

func TestConditionalSplit(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: split
    type: conditional_split
    input: src
    settings:
      cases:
        - {name: big, expression: "qty >= 3"}
        - {name: one, expression: "qty == 1"}
      default: rest
  - {name: big, type: collect, input: split.big}
  - {name: one, type: collect, input: split.one}
  - {name: rest, type: collect, input: split.rest}
`, use)
	require.Equal(t, []any{int64(1), int64(3)}, res.Collected("big").Column("id"))
	require.Equal(t, []any{int64(2)}, res.Collected("one").Column("id"))
	require.Equal(t, []any{int64(4)}, res.Collected("rest").Column("id"))
	paths := res.Output["paths"].(map[string]any)
	require.Equal(t, int64(2), paths["split.big"])
	require.Equal(t, int64(1), paths["split.rest"])
}

func TestDataConversion(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: conv
    type: data_conversion
    input: src
    on_error: redirect
    settings:
      columns:
        - {name: price, type: float64}
        - {name: qty, type: string, as: qty_text}
  - {name: sink, type: collect, input: conv}
  - {name: bad, type: collect, input: conv.error}
`, use)
	sink := res.Collected("sink")
	require.Equal(t, []string{"id", "price", "qty", "qty_text"}, fieldNames(sink))
	require.Equal(t, []any{2.5, 10.0, nil}, sink.Column("price"))
	require.Equal(t, []any{"4", "3", "2"}, sink.Column("qty_text"))
	bad := res.Collected("bad")
	require.Equal(t, []any{int64(2)}, bad.Column("id"))
	require.Equal(t, []any{`column "price": "x" is not a number`}, bad.Column("error_reason"))
}

func TestMulticastUnionAllRowCount(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
batch_rows: 1
components:`+source+`
  - {name: copy, type: multicast, input: src}
  - name: a
    type: derived_column
    input: copy
    settings: {columns: [{name: from, expression: "'a'"}]}
  - name: b
    type: derived_column
    input: copy
    settings: {columns: [{name: extra, expression: "id * 10"}]}
  - {name: all, type: union_all, inputs: [a, b]}
  - {name: count, type: row_count, input: all, settings: {variable: counted}}
  - {name: sink, type: collect, input: count}
`, use)
	sink := res.Collected("sink")
	require.Equal(t, []string{"id", "price", "qty", "from", "extra"}, fieldNames(sink))
	require.Len(t, sink.Rows(), 8)
	require.Equal(t, int64(8), res.Output["counted"])
	var fromA, withExtra int
	for _, m := range sink.Maps() {
		if m["from"] == "a" {
			fromA++
			require.Nil(t, m["extra"])
		}
		if m["extra"] != nil {
			withExtra++
			require.Equal(t, m["id"].(int64)*10, m["extra"])
		}
	}
	require.Equal(t, 4, fromA)
	require.Equal(t, 4, withExtra)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, graph string
		want        []string
	}{
		{"unknown column", `
components:` + source + `
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: t, expression: "prise * 2"}]}
  - {name: sink, type: collect, input: derive}
`, []string{`component "derive" (derived_column): settings.columns[0].expression: expression "prise * 2": no column or name "prise"; did you mean "price"?`}},
		{"split not bool", `
components:` + source + `
  - name: split
    type: conditional_split
    input: src
    settings: {cases: [{name: x, expression: "qty + 1"}]}
`, []string{`settings.cases[0].expression: "qty + 1" gives int64, want a bool`}},
		{"union types", `
components:` + source + `
  - name: conv
    type: data_conversion
    input: src
    settings: {columns: [{name: id, type: string}]}
  - {name: copy, type: multicast, input: src}
  - {name: all, type: union_all, inputs: [copy, conv]}
`, []string{`component "copy" (multicast): input "src.out": "conv" reads it already; an output feeds one input: put a multicast after "src"`, `component "all" (union_all): settings: column "id" is int64 in copy.out but string in conv.out`}},
		{"conversion column", `
components:` + source + `
  - name: conv
    type: data_conversion
    input: src
    settings: {columns: [{name: qtty, type: int32}, {name: id, type: strng}]}
`, []string{`no input column "qtty"; did you mean "qty"?`, `settings.columns[1].type "strng": unknown column type "strng"`, `did you mean "string"?`}},
		{"row count result", `
components:` + source + `
  - {name: c1, type: row_count, input: src, settings: {variable: rows_read}}
  - {name: c2, type: row_count, input: c1, settings: {variable: n}}
  - {name: c3, type: row_count, input: c2, settings: {variable: n}}
`, []string{`component "c1" (row_count): result "rows_read" is one of the task's own output keys`, `component "c3" (row_count): result "n" is set by component "c2" already`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := dataflowtest.Check(t, tc.graph, use)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestUnreadOutputIsCountedAndDropped(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: split
    type: conditional_split
    input: src
    settings: {cases: [{name: big, expression: "qty >= 3"}]}
  - {name: big, type: collect, input: split.big}
`, use)
	require.Equal(t, []any{int64(1), int64(3)}, res.Collected("big").Column("id"))
	paths := res.Output["paths"].(map[string]any)
	require.Equal(t, int64(2), paths["split.default"])
	require.Equal(t, int64(2), res.Output["rows_written"])
}

func TestConditionalSplitRejectsRowsItCannotRoute(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:`+source+`
  - name: split
    type: conditional_split
    input: src
    on_error: redirect
    settings: {cases: [{name: dear, expression: "float(price) > 3"}]}
  - {name: dear, type: collect, input: split.dear}
  - {name: rest, type: collect, input: split.default}
  - {name: bad, type: collect, input: split.error}
`, use)
	require.Equal(t, []any{int64(3)}, res.Collected("dear").Column("id"))
	require.Equal(t, []any{int64(1), int64(4)}, res.Collected("rest").Column("id"), "a null price routes to the default")
	require.Equal(t, []any{int64(2)}, res.Collected("bad").Column("id"))
	require.Contains(t, res.Collected("bad").Column("error_reason")[0], `case "dear": expression "float(price) > 3"`)
}
