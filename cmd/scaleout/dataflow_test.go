package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

func TestShowDataFlows(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, showDataFlows(&b, []execution.TaskSummary{{Path: "write", Status: "succeeded"}}))
	require.Empty(t, b.String(), "no table without a data flow")

	require.NoError(t, showDataFlows(&b, []execution.TaskSummary{
		{Path: "write", Status: "succeeded"},
		{Path: "each[eu]/flow", Status: "succeeded", DataFlow: &execution.DataFlowStats{
			Paths:    []execution.PathRows{{Path: "read.out", Rows: 1200}, {Path: "split.big", Rows: 300}},
			RowsRead: 1200, RowsWritten: 1100, RowsRejected: 100, MemoryPeakBytes: 3 << 19, PathsOmitted: 2,
			Tap: &execution.TapRows{Path: "read.out", Columns: []string{"id"}, Rows: []json.RawMessage{[]byte(`[1]`)}},
		}},
	}))
	require.Equal(t, `
DATA FLOW
TASK           PATH                               ROWS
each[eu]/flow  read.out                           1200
each[eu]/flow  split.big                          300
each[eu]/flow  (2 more paths: see scaleout logs)  
each[eu]/flow: 1200 rows read, 1100 written, 100 rejected; batches held at most 1.5 MiB; 1 row of read.out tapped (see -o json)
`, b.String())
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 256 << 20: "256.0 MiB", 3 << 30: "3.0 GiB"} {
		require.Equal(t, want, byteSize(n), n)
	}
}

// A dataflow run through the stack: executions show has its DATA FLOW
// table, -o json its statistics.
func testDataFlowShow(t *testing.T, c cli) {
	file := filepath.Join(t.TempDir(), "flow.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: flow
tasks:
  - name: write
    type: exec
    with: {command: [sh, -c, "printf 'id,region\n1,eu\n2,us\n3,eu\n' > in.csv"]}
  - name: flow
    type: dataflow
    after: [{task: write}]
    with:
      tap: {path: read, rows: 5}
      components:
        - {name: read, type: csv_source, settings: {file: in.csv}}
        - name: split
          type: conditional_split
          input: read
          settings: {cases: [{name: eu, expression: "region == 'eu'"}], default: other}
        - {name: eu, type: csv_destination, input: split.eu, settings: {file: eu.csv}}
`), 0o600))
	out, _, err := c.run(t, "run", "--file", file, "--wait", "--interval", "200ms")
	require.NoError(t, err, out)
	id := regexp.MustCompile(`execution ([0-9a-f-]{36}) succeeded`).FindStringSubmatch(out)
	require.NotNil(t, id, out)

	out, _, err = c.run(t, "executions", "show", id[1])
	require.NoError(t, err)
	require.Regexp(t, `(?s)TASK\s+STATUS.*\nDATA FLOW\nTASK\s+PATH\s+ROWS\nflow\s+read.out\s+3\nflow\s+split.eu\s+2\nflow\s+split.other\s+1\n`+
		`flow: 3 rows read, 2 written, 0 rejected; batches held at most .*; 3 rows of read.out tapped`, out)

	out, _, err = c.run(t, "executions", "show", id[1], "-o", "json")
	require.NoError(t, err)
	var e struct {
		Tasks []struct {
			Path     string
			DataFlow *struct {
				RowsRead int64 `json:"rows_read"`
				Tap      struct {
					Columns []string
					Rows    [][]any
				}
			} `json:"data_flow"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	require.Len(t, e.Tasks, 2)
	require.Nil(t, e.Tasks[0].DataFlow)
	require.Equal(t, int64(3), e.Tasks[1].DataFlow.RowsRead)
	require.Equal(t, []string{"id", "region"}, e.Tasks[1].DataFlow.Tap.Columns)
	require.Equal(t, [][]any{{"1", "eu"}, {"2", "us"}, {"3", "eu"}}, e.Tasks[1].DataFlow.Tap.Rows, "undeclared CSV columns are text")
}
