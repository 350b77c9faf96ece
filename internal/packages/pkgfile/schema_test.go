package pkgfile_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// compileSchema compiles the embedded schema.
func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(pkgfile.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("schema.json", doc))
	s, err := c.Compile("schema.json")
	require.NoError(t, err)
	return s
}

func TestSchemaMatchesTheGoTypes(t *testing.T) {
	t.Parallel()
	var schema struct {
		Schema string `json:"$schema"`
		Defs   map[string]struct {
			AdditionalProperties *bool                      `json:"additionalProperties"`
			Required             []string                   `json:"required"`
			Properties           map[string]json.RawMessage `json:"properties"`
			Enum                 []string                   `json:"enum"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(pkgfile.Schema(), &schema))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema.Schema)

	for def, typ := range map[string]reflect.Type{
		"package":     reflect.TypeFor[pkgfile.Package](),
		"parameter":   reflect.TypeFor[pkgfile.Parameter](),
		"variable":    reflect.TypeFor[pkgfile.Variable](),
		"task":        reflect.TypeFor[pkgfile.Task](),
		"constraint":  reflect.TypeFor[pkgfile.Constraint](),
		"retry":       reflect.TypeFor[pkgfile.Retry](),
		"connection":  reflect.TypeFor[pkgfile.Connection](),
		"transaction": reflect.TypeFor[pkgfile.Transaction](),
	} {
		d, ok := schema.Defs[def]
		require.True(t, ok, "schema has no $defs/%s for %s", def, typ)
		var fields, required []string
		for i := range typ.NumField() {
			name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		props := make([]string, 0, len(d.Properties))
		for p := range d.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		sort.Strings(required)
		sort.Strings(d.Required)
		require.Equal(t, fields, props, "the fields of %s and the properties of $defs/%s", typ, def)
		require.Equal(t, required, d.Required, "the fields of %s without omitempty are the required of $defs/%s", typ, def)
		require.NotNil(t, d.AdditionalProperties, def)
		require.False(t, *d.AdditionalProperties, "$defs/%s allows no other properties", def)
	}

	var types []string
	for _, ty := range pkgfile.Types {
		types = append(types, string(ty))
	}
	require.Equal(t, types, schema.Defs["type"].Enum)
	var on struct {
		Enum []pkgfile.Outcome `json:"enum"`
	}
	require.NoError(t, json.Unmarshal(schema.Defs["constraint"].Properties["on"], &on))
	require.Equal(t, []pkgfile.Outcome{pkgfile.OnSuccess, pkgfile.OnFailure, pkgfile.OnCompletion, ""}, on.Enum)
}

// schemaFiles are the documents the schema tests check: the examples and
// the test data.
func schemaFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../../examples/*.yaml", "testdata/*.yaml", "testdata/*.json"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	return files
}

func TestExamplesMatchTheSchema(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	examples, err := filepath.Glob("../../../examples/*.yaml")
	require.NoError(t, err)
	for _, f := range examples {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		doc, err := pkgfile.DocumentValue(data, f)
		require.NoError(t, err, f)
		require.NoError(t, s.Validate(doc), f)
	}
}

// TestSchemaAgreesWithValidate checks both directions where they can hold:
// what Load accepts, the schema accepts; what the schema accepts, Parse
// accepts (Validate checks more than a schema can: references, cycles,
// expressions, the task types' settings).
func TestSchemaAgreesWithValidate(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	docs := map[string]string{}
	for _, f := range schemaFiles(t) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[f] = string(data)
	}
	// Hand-picked cases that the schema and Load must both accept (true) or
	// both reject (false).
	cases := map[string]struct {
		doc   string
		valid bool
	}{
		"unknown field":         {"name: x\ntasks: [{name: a, type: fail}]\nextra: 1\n", false},
		"unknown task field":    {"name: x\ntasks: [{name: a, type: fail, retries: 2}]\n", false},
		"negative parallel":     {"name: x\nmax_parallel: -1\ntasks: [{name: a, type: fail}]\n", false},
		"zero attempts":         {"name: x\ntasks: [{name: a, type: fail, retry: {attempts: 0}}]\n", false},
		"bad duration":          {"name: x\ntimeout: soon\ntasks: [{name: a, type: fail}]\n", false},
		"negative duration":     {"name: x\ntimeout: -0s\ntasks: [{name: a, type: fail}]\n", false},
		"zero duration":         {"name: x\ntimeout: '0'\ntasks: [{name: a, type: fail, timeout: 1.5h}]\n", true},
		"bad name":              {"name: -x\ntasks: [{name: a, type: fail}]\n", false},
		"bad task name":         {"name: x\ntasks: [{name: a.b, type: fail}]\n", false},
		"bad parameter name":    {"name: x\nparameters: {a-b: {type: int}}\ntasks: [{name: a, type: fail}]\n", false},
		"unknown type":          {"name: x\nparameters: {a: {type: text}}\ntasks: [{name: a, type: fail}]\n", false},
		"default of wrong type": {"name: x\nparameters: {a: {type: int, default: 'x'}}\ntasks: [{name: a, type: fail}]\n", false},
		"required with default": {"name: x\nparameters: {a: {type: int, required: true, default: 1}}\ntasks: [{name: a, type: fail}]\n", false},
		"required, null":        {"name: x\nparameters: {a: {type: int, required: true, default: null}}\ntasks: [{name: a, type: fail}]\n", true},
		"empty means absent": {"name: x\ntasks: [{name: a, type: fail, items: '', as: '', parallel: false, tasks: [], after: [{task: b, on: ''}]}," +
			" {name: b, type: sequence, with: {}, outputs: {}, tasks: [{name: c, type: fail}]}]\n", true},
		"sequence with items":   {"name: x\ntasks: [{name: a, type: sequence, items: '[1]', tasks: [{name: c, type: fail}]}]\n", false},
		"foreach without items": {"name: x\ntasks: [{name: a, type: foreach, tasks: [{name: c, type: fail}]}]\n", false},
		"foreach":               {"name: x\ntasks: [{name: a, type: foreach, items: '[1]', parallel: true, tasks: [{name: c, type: fail}]}]\n", true},
		"fail with tasks":       {"name: x\ntasks: [{name: a, type: fail, tasks: [{name: c, type: fail}]}]\n", false},
		"no tasks":              {"name: x\ntasks: []\n", false},
		"unknown outcome":       {"name: x\ntasks: [{name: a, type: fail}, {name: b, type: fail, after: [{task: a, on: done}]}]\n", false},
		"null retry":            {"name: x\ntasks: [{name: a, type: fail, retry: null}]\n", false},
		"output path":           {"name: x\nvariables: {v: {type: string}}\ntasks: [{name: a, type: fail, outputs: {v: 'a..b'}}]\n", false},
		"output":                {"name: x\nvariables: {v: {type: string}}\ntasks: [{name: a, type: fail, outputs: {v: 'body.x-y.0'}}]\n", true},
		"connections": {"name: x\nparameters: {pw: {type: string, sensitive: true}, host: {type: string}}\n" +
			"connections: {db: {kind: postgres, host: '${params.host}', port: 5433, user: u, password: '${params.pw}', options: {sslmode: disable}}," +
			" files: {kind: s3, bucket: b, region: us-east-1, endpoint: 'http://127.0.0.1:9000', path_style: true}}\n" +
			"tasks: [{name: a, type: sequence, transaction: {connection: db}, tasks: [{name: c, type: fail}]}]\n", true},
		"literal password":      {"name: x\nconnections: {db: {kind: postgres, host: h, user: u, password: hunter2}}\ntasks: [{name: a, type: fail}]\n", false},
		"connection kind":       {"name: x\nconnections: {db: {kind: postgress, host: h, user: u}}\ntasks: [{name: a, type: fail}]\n", false},
		"connection host":       {"name: x\nconnections: {db: {kind: mysql, user: u}}\ntasks: [{name: a, type: fail}]\n", false},
		"s3 with a user":        {"name: x\nconnections: {f: {kind: s3, bucket: b, region: r, user: u}}\ntasks: [{name: a, type: fail}]\n", false},
		"connection port":       {"name: x\nconnections: {db: {kind: mysql, host: h, user: u, port: 70000}}\ntasks: [{name: a, type: fail}]\n", false},
		"connection field":      {"name: x\nconnections: {db: {kind: mysql, host: h, user: u, passwd: x}}\ntasks: [{name: a, type: fail}]\n", false},
		"transaction on a task": {"name: x\nconnections: {db: {kind: mysql, host: h, user: u}}\ntasks: [{name: a, type: fail, transaction: {connection: db}}]\n", false},
	}
	for name, tc := range cases {
		docs[name] = tc.doc
		value, err := pkgfile.DocumentValue([]byte(tc.doc), name+".yaml")
		require.NoError(t, err, name)
		_, loadErr := pkgfile.Load([]byte(tc.doc), name+".yaml", fakeTypes())
		require.Equal(t, tc.valid, loadErr == nil, "%s: Load says %v", name, loadErr)
		schemaErr := s.Validate(value)
		require.Equal(t, tc.valid, schemaErr == nil, "%s: the schema says %v", name, schemaErr)
	}
	for name, doc := range docs {
		value, err := pkgfile.DocumentValue([]byte(doc), name)
		if err != nil {
			continue // not YAML or JSON at all
		}
		schemaErr := s.Validate(value)
		_, parseErr := pkgfile.Parse([]byte(doc), name)
		_, loadErr := pkgfile.Load([]byte(doc), name, fakeTypes())
		if loadErr == nil {
			require.NoError(t, schemaErr, "%s: Load accepts it, the schema does not", name)
		}
		if schemaErr == nil {
			require.NoError(t, parseErr, "%s: the schema accepts it, Parse does not", name)
		}
	}
}
