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

// TestS3SchemaAgreesWithCheck holds the package schema's description of
// the s3 task's settings (pkgfile/schema.json, s3With) to the type's own
// Check: what Check accepts, the schema accepts, and the settings the
// schema can describe (which keys each op takes, what it requires, what
// excludes what) are refused by both. Check refuses more (a glob that does
// not compile, a path out of the scratch directory, a malformed age):
// those cases say so.
func TestS3SchemaAgreesWithCheck(t *testing.T) {
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
		{`{"connection": "files", "op": "list"}`, both},
		{`{"connection": "files", "op": "list", "prefix": "in/", "glob": "in/**.csv", "newer_than": "24h", "limit": 50}`, both},
		{`{"connection": "files", "op": "list", "newer_than": "2026-11-01T00:00:00Z", "limit": "${params.n}"}`, both},
		{`{"connection": "files", "op": "get", "key": "in/a.csv", "to": "data/a.csv"}`, both},
		{`{"connection": "files", "op": "get", "key": 2026}`, both},
		{`{"connection": "files", "op": "get", "glob": "in/*.csv", "to": "in/"}`, both},
		{`{"connection": "files", "op": "put", "from": "out/*.csv", "prefix": "done/"}`, both},
		{`{"connection": "files", "op": "put", "from": "out/a.csv", "key": "done/a.csv"}`, both},
		{`{"connection": "files", "op": "copy", "key": "a", "to_key": "b", "to_connection": "archive"}`, both},
		{`{"connection": "files", "op": "move", "prefix": "in/", "to_prefix": "done/"}`, both},
		{`{"connection": "files", "op": "delete", "glob": "**"}`, both},
		{`{"connection": "files", "op": "delete", "prefix": "tmp/", "newer_than": "1h"}`, both},
		{`{"connection": "${params.conn}", "op": "${params.op}", "key": "a", "limit": 3, "to_key": "b"}`, both},

		{`{"op": "list"}`, neither},
		{`{"connection": "files"}`, neither},
		{`{"connection": " ", "op": "list"}`, neither},
		{`{"connection": "files", "op": "lst"}`, neither},
		{`{"connection": "files", "op": "list", "limit": 0}`, neither},
		{`{"connection": "files", "op": "list", "limit": 100001}`, neither},
		{`{"connection": "files", "op": "list", "key": "a"}`, neither},
		{`{"connection": "files", "op": "list", "bucket": "b"}`, neither},
		{`{"connection": "files", "op": "get"}`, neither},
		{`{"connection": "files", "op": "get", "key": ""}`, neither},
		{`{"connection": "files", "op": "get", "key": "a", "prefix": "in/"}`, neither},
		{`{"connection": "files", "op": "get", "key": "a", "from": "x"}`, neither},
		{`{"connection": "files", "op": "get", "key": "a", "to": "/etc/passwd"}`, neither},
		{`{"connection": "files", "op": "put"}`, neither},
		{`{"connection": "files", "op": "put", "from": "x", "key": "a", "prefix": "p/"}`, neither},
		{`{"connection": "files", "op": "put", "from": "x", "to_connection": "other"}`, neither},
		{`{"connection": "files", "op": "copy", "key": "a"}`, neither},
		{`{"connection": "files", "op": "copy", "prefix": "in/", "to_key": "b"}`, neither},
		{`{"connection": "files", "op": "move", "key": "a", "to_key": "b", "to_prefix": "p/"}`, neither},
		{`{"connection": "files", "op": "delete", "key": "a", "to_prefix": "p/"}`, neither},
		{`{"connection": "files", "op": "list", "newer_than": 24}`, neither},

		{`{"connection": "files", "op": "delete", "prefix": ""}`, checkOnly},
		{`{"connection": "files", "op": "list", "glob": "in/[.csv"}`, checkOnly},
		{`{"connection": "files", "op": "get", "key": "a", "to": "../a"}`, checkOnly},
		{`{"connection": "files", "op": "list", "newer_than": "yesterday"}`, checkOnly},
	} {
		var with map[string]any
		require.NoError(t, json.Unmarshal([]byte(tc.with), &with), tc.with)
		checkErr := (&S3{}).Check(with)

		pkg := `{"name": "x", "tasks": [{"name": "a", "type": "s3", "with": ` + tc.with + `}]}`
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
