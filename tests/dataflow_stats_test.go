package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// flowPackage writes a CSV file with an exec task, then streams it through
// a dataflow: a derived column made of a sensitive parameter, a split by
// region, two CSV destinations, and a tap on the derived rows.
const flowPackage = `name: regions
parameters:
  token: {type: string, sensitive: true}
tasks:
  - name: write
    type: exec
    with: {command: [sh, -c, "printf 'id,region,amount\n1,eu,12.5\n2,us,80\n3,eu,7\n4,apac,19.25\n5,eu,3\n' > sales.csv"]}
  - name: flow
    type: dataflow
    after: [{task: write}]
    with:
      tap: {path: derive, rows: 3}
      components:
        - name: read
          type: csv_source
          settings: {file: sales.csv, columns: [{name: id, type: int64}, {name: region, type: string}, {name: amount, type: float64}]}
        - name: derive
          type: derived_column
          input: read
          settings: {columns: [{name: tag, type: string, expression: "region + ':' + params.token"}]}
        - name: split
          type: conditional_split
          input: derive
          settings: {cases: [{name: eu, expression: "region == 'eu'"}], default: other}
        - {name: eu_out, type: csv_destination, input: split.eu, settings: {file: eu.csv}}
        - {name: other_out, type: csv_destination, input: split.other, settings: {file: other.csv}}
`

const flowSecret = "tok-do-not-show-42"

// runFlow runs flowPackage on d and waits for its end.
func runFlow(t *testing.T, d *dev) execution {
	t.Helper()
	e := post(t, d, map[string]any{"folder": "e2e", "package": "regions", "definition": flowPackage, "parameters": map[string]any{"token": flowSecret}})
	got := waitFinal(t, d, e.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	return got
}

// A dataflow run through the API and a worker: the execution keeps the
// rows per path, the totals and the tapped rows (the sensitive value
// redacted), and data-statistics lists the paths flat. Every answer is
// checked against the OpenAPI document.
func TestDataFlowStatisticsReachTheAPI(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	e := runFlow(t, d)

	var got struct {
		Tasks []struct {
			Path     string `json:"path"`
			DataFlow *struct {
				Paths []struct {
					Path string `json:"path"`
					Rows int64  `json:"rows"`
				} `json:"paths"`
				RowsRead        int64 `json:"rows_read"`
				RowsWritten     int64 `json:"rows_written"`
				RowsRejected    int64 `json:"rows_rejected"`
				MemoryPeakBytes int64 `json:"memory_peak_bytes"`
				Tap             *struct {
					Path    string   `json:"path"`
					Columns []string `json:"columns"`
					Rows    [][]any  `json:"rows"`
				} `json:"tap"`
			} `json:"data_flow"`
		} `json:"tasks"`
	}
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+e.ID, "", &got))
	require.Len(t, got.Tasks, 2)
	require.Equal(t, "write", got.Tasks[0].Path)
	require.Nil(t, got.Tasks[0].DataFlow)
	f := got.Tasks[1].DataFlow
	require.NotNil(t, f)
	paths := map[string]int64{}
	for _, p := range f.Paths {
		paths[p.Path] = p.Rows
	}
	require.Equal(t, map[string]int64{"read.out": 5, "derive.out": 5, "split.eu": 3, "split.other": 2}, paths)
	require.Equal(t, int64(5), f.RowsRead)
	require.Equal(t, int64(5), f.RowsWritten)
	require.Zero(t, f.RowsRejected)
	require.Positive(t, f.MemoryPeakBytes)
	require.NotNil(t, f.Tap)
	require.Equal(t, "derive.out", f.Tap.Path)
	require.Equal(t, []string{"id", "region", "amount", "tag"}, f.Tap.Columns)
	require.Equal(t, [][]any{{1.0, "eu", 12.5, "eu:***"}, {2.0, "us", 80.0, "us:***"}, {3.0, "eu", 7.0, "eu:***"}}, f.Tap.Rows)

	var stats struct {
		ExecutionID string `json:"execution_id"`
		Statistics  []struct {
			Task, Path string
			Rows       int64
		} `json:"statistics"`
	}
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+e.ID+"/data-statistics", "", &stats))
	require.Equal(t, e.ID, stats.ExecutionID)
	var flat []string
	for _, s := range stats.Statistics {
		flat = append(flat, s.Task+" "+s.Path+" "+strings.Repeat("#", int(s.Rows)))
	}
	require.Equal(t, []string{"flow derive.out #####", "flow read.out #####", "flow split.eu ###", "flow split.other ##"}, flat)

	var raw json.RawMessage
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+e.ID, "", &raw))
	require.Contains(t, string(raw), `"data_flow"`)
	require.NotContains(t, string(raw), flowSecret, "the secret shows nowhere in the execution")
	require.NotContains(t, strings.Join(outputLines(messages(t, d, e.ID)), "\n"), flowSecret)
}
