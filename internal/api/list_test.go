package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
)

// getRaw answers a GET with its status and body, decoded with numbers kept
// as json.Number.
func getRaw(t *testing.T, b bundle, path string) (int, any) {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out), "%s: %s", path, body)
	return resp.StatusCode, out
}

// nullArrays lists where v has null (or no array) where schema, a schema
// of the OpenAPI document, says array. It follows $ref, allOf, properties,
// items and additionalProperties.
func nullArrays(t *testing.T, doc map[string]any, schema map[string]any, v any, at string) []string {
	t.Helper()
	if ref, ok := schema["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/components/schemas/")
		require.True(t, found, "a local schema reference: %s", ref)
		target, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		require.True(t, ok, "schema %s is in the document", name)
		return nullArrays(t, doc, target, v, at)
	}
	var out []string
	for _, part := range anySlice(schema["allOf"]) {
		out = append(out, nullArrays(t, doc, part.(map[string]any), v, at)...)
	}
	if schema["type"] == "array" {
		items, ok := v.([]any)
		if !ok {
			return append(out, fmt.Sprintf("%s: %v where the document says array", at, v))
		}
		if item, ok := schema["items"].(map[string]any); ok {
			for i, it := range items {
				out = append(out, nullArrays(t, doc, item, it, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		return out
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return out
	}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		if pv, present := obj[name]; present {
			out = append(out, nullArrays(t, doc, p.(map[string]any), pv, at+"."+name)...)
		}
	}
	if extra, ok := schema["additionalProperties"].(map[string]any); ok {
		for name, pv := range obj {
			if _, declared := props[name]; !declared {
				out = append(out, nullArrays(t, doc, extra, pv, at+"."+name)...)
			}
		}
	}
	return out
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// responseSchema is the JSON schema of the 200 answer of GET path (a
// route pattern of the document).
func responseSchema(t *testing.T, doc map[string]any, pattern string) map[string]any {
	t.Helper()
	op, ok := doc["paths"].(map[string]any)[pattern].(map[string]any)["get"].(map[string]any)
	require.True(t, ok, "GET %s is documented", pattern)
	schema, ok := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	require.True(t, ok, "GET %s documents a JSON 200", pattern)
	return schema
}

// Empty lists are [] in every answer, where the document says array:
// each list route is read in a state where its list (or a list inside
// its items) is empty.
func TestEmptyListsAreArrays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(api.OpenAPI, &doc))

	folder, project := "empty", "p"
	code, out, _ := do(t, b, "POST", "/v1/folders", adminToken, `{"name":"`+folder+`"}`)
	require.Equal(t, http.StatusCreated, code, out)
	code, out, _ = do(t, b, "POST", "/v1/executions", adminToken, `{"folder":"`+folder+`","package":"x","command":["true"]}`)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)

	reads := []struct{ path, pattern string }{
		{"/v1/executions?project=" + project, "/v1/executions"},
		{"/v1/executions?project=" + project + "&since=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00Z", "/v1/executions"},
		{"/v1/executions?folder=" + folder, "/v1/executions"},
		{"/v1/executions/" + id + "/messages", "/v1/executions/{id}/messages"},
		{"/v1/executions/" + id, "/v1/executions/{id}"},
		{"/v1/folders/" + folder + "/projects", "/v1/folders/{folder}/projects"},
		{"/v1/folders/" + folder + "/environments", "/v1/folders/{folder}/environments"},
		{"/v1/folders?limit=1", "/v1/folders"},
		{"/v1/workers", "/v1/workers"},
		{"/v1/pools", "/v1/pools"},
		{"/v1/dashboard?hours=1", "/v1/dashboard"},
	}
	check := func() {
		t.Helper()
		for _, r := range reads {
			code, v := getRaw(t, b, r.path)
			require.Equal(t, http.StatusOK, code, "%s: %v", r.path, v)
			require.Empty(t, nullArrays(t, doc, responseSchema(t, doc, r.pattern), v, "GET "+r.path), "no null where the document says array")
		}
	}
	check()
	// The lists this test made empty are there, as [].
	for path, field := range map[string]string{
		"/v1/executions?project=" + project:       "executions",
		"/v1/executions/" + id + "/messages":      "messages",
		"/v1/folders/" + folder + "/projects":     "projects",
		"/v1/folders/" + folder + "/environments": "environments",
	} {
		_, v := getRaw(t, b, path)
		require.Equal(t, []any{}, v.(map[string]any)[field], path)
	}

	// A project with no references and no files.
	code, out, _ = do(t, b, "PUT", "/v1/folders/"+folder+"/projects/"+project, adminToken,
		`{"packages":{"hello":"name: hello\ntasks:\n  - {name: greet, type: exec, with: {command: [\"true\"]}}\n"}}`)
	require.Equal(t, http.StatusCreated, code, out)
	reads = []struct{ path, pattern string }{
		{"/v1/folders/" + folder + "/projects", "/v1/folders/{folder}/projects"},
		{"/v1/folders/" + folder + "/projects/" + project, "/v1/folders/{folder}/projects/{project}"},
		{"/v1/folders/" + folder + "/projects/" + project + "/versions", "/v1/folders/{folder}/projects/{project}/versions"},
	}
	check()
	_, v := getRaw(t, b, "/v1/folders/"+folder+"/projects/"+project)
	require.Equal(t, []any{}, v.(map[string]any)["references"])
}
