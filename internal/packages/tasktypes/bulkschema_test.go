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

// TestBulkInsertSchemaAgreesWithCheck holds the package schema's
// description of the bulk_insert task's settings (bulkWith) to the type's
// Check, as TestS3SchemaAgreesWithCheck does for s3.
func TestBulkInsertSchemaAgreesWithCheck(t *testing.T) {
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
		checkOnly        // the schema accepts, Check refuses: beyond what a schema says
	)
	for _, tc := range []struct {
		with string
		want int
	}{
		{`{"connection": "dw", "file": "data/a.csv", "table": "sales"}`, both},
		{`{"connection": "dw", "file": "a.csv", "table": "sales", "schema": "stage", "columns": ["id", "amount"], "format": "csv",
		   "delimiter": ";", "quote": "'", "header": true, "null": "NULL", "timeout": "5m"}`, checkOnly},
		{`{"connection": "dw", "file": "a.csv", "table": "sales", "schema": "stage", "columns": ["id", "amount"], "format": "csv",
		   "delimiter": "\t", "quote": "\"", "header": true, "null": "NULL", "timeout": "5m"}`, both},
		{`{"connection": "dw", "file": "${params.file}", "table": "${params.table}", "header": "${params.header}"}`, both},

		{`{"file": "a.csv", "table": "sales"}`, neither},
		{`{"connection": "dw", "table": "sales"}`, neither},
		{`{"connection": "dw", "file": "a.csv"}`, neither},
		{`{"connection": "dw", "file": "/etc/passwd", "table": "t"}`, neither},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "format": "parquet"}`, neither},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "delimiter": ",,"}`, neither},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "columns": []}`, neither},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "header": "yes"}`, neither},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "tabel": "u"}`, neither},

		{`{"connection": "dw", "file": "../a.csv", "table": "t"}`, checkOnly},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "delimiter": "\n"}`, checkOnly},
		{`{"connection": "dw", "file": "a.csv", "table": "t", "columns": ["id", "id"]}`, checkOnly},
	} {
		var with map[string]any
		require.NoError(t, json.Unmarshal([]byte(tc.with), &with), tc.with)
		checkErr := BulkInsert{}.Check(with)

		pkg := `{"name": "x", "tasks": [{"name": "a", "type": "bulk_insert", "with": ` + tc.with + `}]}`
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
