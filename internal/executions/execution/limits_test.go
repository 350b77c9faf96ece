package execution

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    string
		max  int
	}{
		{"short", "hello", 10},
		{"exact", strings.Repeat("x", 64), 64},
		{"long ascii", strings.Repeat("a", 100_000) + "the end", 1024},
		{"long utf-8", strings.Repeat("é€😀", 10_000), 1000},
		{"tiny max", strings.Repeat("b", 100), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Clip(tc.s, tc.max)
			require.LessOrEqual(t, len(got), tc.max)
			require.True(t, utf8.ValidString(got), "cut between UTF-8 characters")
			if len(tc.s) <= tc.max {
				require.Equal(t, tc.s, got)
				return
			}
			require.Less(t, len(got), len(tc.s))
			if tc.max < 64 {
				return // no room for the marker: just the start
			}
			head, rest, ok := strings.Cut(got, " […")
			require.True(t, ok, "a marker says it was cut: %q", got)
			var n int
			_, err := fmt.Sscanf(rest, "%d bytes cut…] ", &n)
			require.NoError(t, err, rest)
			tail := rest[strings.Index(rest, "…] ")+len("…] "):]
			require.True(t, strings.HasPrefix(tc.s, head), "keeps the start")
			require.True(t, strings.HasSuffix(tc.s, tail), "keeps the end")
			require.Equal(t, len(tc.s)-len(head)-len(tail), n, "the marker counts the bytes cut")
		})
	}
}

func TestResultFit(t *testing.T) {
	t.Parallel()
	t.Run("small results are kept as they are", func(t *testing.T) {
		t.Parallel()
		r := Result{Status: Failed, Error: "boom", Tasks: []TaskSummary{{Path: "a", Status: "failed", Error: "boom"}}}
		require.Equal(t, r, r.Fit())
	})
	t.Run("long errors are cut", func(t *testing.T) {
		t.Parallel()
		huge := strings.Repeat("a", 200_000)
		r := Result{Status: Failed, Error: "task main: " + huge, Tasks: []TaskSummary{{Path: huge, Status: "failed", Error: huge}}}.Fit()
		require.LessOrEqual(t, len(r.Error), MaxErrorBytes)
		require.Contains(t, r.Error, "bytes cut")
		require.True(t, strings.HasPrefix(r.Error, "task main: "))
		require.Len(t, r.Tasks, 1)
		require.LessOrEqual(t, len(r.Tasks[0].Error), MaxTaskErrorBytes)
		require.LessOrEqual(t, len(r.Tasks[0].Path), MaxTaskPathBytes)
		require.Zero(t, r.TasksOmitted)
	})
	t.Run("summaries past the caps are left out and counted", func(t *testing.T) {
		t.Parallel()
		var many []TaskSummary
		for i := range 1000 {
			many = append(many, TaskSummary{Path: fmt.Sprintf("step-%d", i), Status: "succeeded", Attempts: 1})
		}
		r := Result{Status: Succeeded, Tasks: many, TasksOmitted: 5}.Fit()
		require.Len(t, r.Tasks, MaxTaskSummaries)
		require.Equal(t, 1000-MaxTaskSummaries+5, r.TasksOmitted)

		var big []TaskSummary
		for i := range 150 {
			big = append(big, TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "failed", Error: strings.Repeat("e", 5000)})
		}
		r = Result{Status: Failed, Tasks: big}.Fit()
		b, err := json.Marshal(r.Tasks)
		require.NoError(t, err)
		require.LessOrEqual(t, len(b), MaxTasksBytes)
		require.Less(t, len(r.Tasks), 150)
		require.Equal(t, 150, len(r.Tasks)+r.TasksOmitted)
		require.Equal(t, "t0", r.Tasks[0].Path, "the first tasks are kept")
	})
}

func TestValidateSubmissionParameters(t *testing.T) {
	t.Parallel()
	e := Execution{Folder: "f", Project: "p", Package: "x", Pool: "default", Definition: []byte(`{}`),
		Parameters: map[string]any{"blob": strings.Repeat("z", MaxParametersBytes)}}
	err := ValidateSubmission(e)
	require.ErrorContains(t, err, "parameters: ")
	require.ErrorContains(t, err, "at most 65536")
	e.Parameters = map[string]any{"blob": "small"}
	require.NoError(t, ValidateSubmission(e))
}
