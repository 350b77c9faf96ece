package tasktypes

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// TestDataflowSchemaAgreesWithCheck holds the package schema's
// description of the dataflow task's settings (dataflowWith) to the
// type's Check: what Check accepts the schema accepts, and the shapes a
// schema can describe are refused by both. Check refuses more (unknown
// component types and paths, the components' own settings).
func TestDataflowSchemaAgreesWithCheck(t *testing.T) {
	t.Parallel()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(pkgfile.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("schema.json", doc))
	schema, err := c.Compile("schema.json")
	require.NoError(t, err)

	const (
		both      = iota // both accept
		neither          // both refuse
		checkOnly        // the schema accepts, Check refuses
	)
	src := `{"name": "src", "type": "values", "settings": {"columns": [{"name": "id", "type": "int64"}], "rows": [[1]]}}`
	for _, tc := range []struct {
		with string
		want int
	}{
		{`{"components": [` + src + `]}`, both},
		{`{"batch_rows": 500, "memory_limit": "64MiB", "tap": {"path": "src", "rows": 5}, "components": [` + src + `, {"name": "d", "type": "derived_column", "input": "src.out", "on_error": "redirect", "settings": {"columns": [{"name": "x", "expression": "id * 2"}]}}]}`, both},
		{`{"batch_rows": "${params.n}", "memory_limit": 1048576, "components": [` + src + `, {"name": "u", "type": "union_all", "inputs": ["src"]}]}`, both},

		{`{}`, neither},
		{`{"components": []}`, neither},
		{`{"components": [` + src + `], "batch_row": 5}`, neither},
		{`{"components": [` + src + `], "batch_rows": 0}`, neither},
		{`{"components": [` + src + `], "memory_limit": "lots"}`, neither},
		{`{"components": [` + src + `], "tap": {"rows": 5}}`, neither},
		{`{"components": [{"type": "values"}]}`, neither},
		{`{"components": [{"name": "a.b", "type": "values"}]}`, neither},
		{`{"components": [` + src + `, {"name": "u", "type": "union_all", "input": "src", "inputs": ["src"]}]}`, neither},
		{`{"components": [` + src + `, {"name": "d", "type": "multicast", "input": "src", "on_error": "retry"}]}`, neither},

		{`{"components": [{"name": "a", "type": "valuez"}]}`, checkOnly},
		{`{"components": [` + src + `, {"name": "d", "type": "multicast", "input": "nowhere"}]}`, checkOnly},
	} {
		var with map[string]any
		require.NoError(t, json.Unmarshal([]byte(tc.with), &with), tc.with)
		checkErr := Dataflow{Registry: dataflowTypesRegistry()}.Check(with)

		pkg := `{"name": "x", "tasks": [{"name": "a", "type": "dataflow", "with": ` + tc.with + `}]}`
		value, err := jsonschema.UnmarshalJSON(strings.NewReader(pkg))
		require.NoError(t, err)
		schemaErr := schema.Validate(value)

		switch tc.want {
		case both:
			require.NoError(t, checkErr, tc.with)
			require.NoError(t, schemaErr, tc.with)
		case neither:
			require.Error(t, checkErr, tc.with)
			require.Error(t, schemaErr, tc.with)
		case checkOnly:
			require.Error(t, checkErr, tc.with)
			require.NoError(t, schemaErr, tc.with)
		}
	}
}
