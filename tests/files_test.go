package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// A deployed project's files reach its runs: through the API and a real
// worker (`scaleout dev`), a package's exec task reads the files of the
// version it runs, from the directory it starts in; a run of a later
// version gets that version's; an inline package's directory is empty.
func TestProjectFilesReachTheirRuns(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	folder := testenv.Name("files")
	var out map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/folders", must(t, map[string]any{"name": folder}), &out))
	project := d.base + "/v1/folders/" + folder + "/projects/etl"
	const show = `name: show
tasks:
  - name: read
    type: exec
    with: {command: [sh, -c, 'cat sql/load.sql conf/region.txt; find . -type f | sort']}
`
	deployFiles := func(load string) {
		t.Helper()
		require.Equal(t, http.StatusCreated, call(t, "PUT", project, must(t, map[string]any{
			"packages": map[string]string{"show": show},
			"files":    map[string]string{"sql/load.sql": load, "conf/region.txt": "eu-west-1\n"},
		}), &out))
	}
	deployFiles("SELECT 1;\n")
	run := func() []string {
		t.Helper()
		e := post(t, d, map[string]any{"folder": folder, "project": "etl", "package": "show"})
		got := waitFinal(t, d, e.ID)
		require.Equal(t, "succeeded", got.Status, got.Error)
		return outputLines(messages(t, d, e.ID))
	}
	want := func(load string) []string {
		return []string{"read stdout: " + load, "read stdout: eu-west-1", "read stdout: ./conf/region.txt", "read stdout: ./sql/load.sql"}
	}
	require.Equal(t, want("SELECT 1;"), run())
	require.Equal(t, want("SELECT 1;"), run(), "a second run of the version (from the worker's cache)")
	deployFiles("SELECT 2;\n")
	require.Equal(t, want("SELECT 2;"), run(), "the new version's files")

	e := submit(t, d, "inline", "sh", "-c", "find . -type f | wc -l")
	require.Equal(t, "succeeded", waitFinal(t, d, e.ID).Status)
	require.Equal(t, []string{"main stdout: 0"}, outputLines(messages(t, d, e.ID)))
}
