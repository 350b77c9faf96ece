package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// openapiDoc is the part of the OpenAPI document the tests check.
type openapiDoc struct {
	OpenAPI    string                                 `json:"openapi"`
	Security   []map[string][]string                  `json:"security"`
	Paths      map[string]map[string]openapiOperation `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Enum []string `json:"enum"`
		} `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type openapiOperation struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Tags        []string                   `json:"tags"`
	Security    *[]map[string][]string     `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

// openapiMethods are the keys of a path item that are operations.
var openapiMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

func loadOpenAPI(t *testing.T) openapiDoc {
	t.Helper()
	var doc openapiDoc
	require.NoError(t, json.Unmarshal(api.OpenAPI, &doc), "openapi.json is JSON")
	return doc
}

// The document and the routes agree: every route is documented, every
// documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := loadOpenAPI(t)
	require.Equal(t, "3.1.0", doc.OpenAPI)

	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if openapiMethods[method] {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var routes []string
	for _, rt := range b.server.Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	sort.Strings(documented)
	sort.Strings(routes)
	require.Equal(t, routes, documented, "the OpenAPI operations are exactly the server's routes")
}

// Every operation says who may call it, and documents the answers of the
// authorization check.
func TestOpenAPIOperationsAndRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := loadOpenAPI(t)
	require.NotEmpty(t, doc.Security, "a global security requirement")
	for _, req := range doc.Security {
		require.NotEmpty(t, req)
		for scheme := range req {
			require.Contains(t, doc.Components.SecuritySchemes, scheme)
		}
	}
	ids := map[string]bool{}
	for _, rt := range b.server.Routes() {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
			require.True(t, ok, "documented")
			require.NotEmpty(t, op.OperationID)
			require.False(t, ids[op.OperationID], "operationId %q is unique", op.OperationID)
			ids[op.OperationID] = true
			require.NotEmpty(t, op.Summary)
			require.Len(t, op.Tags, 1)
			require.NotEmpty(t, successCode(op), "a 2xx response")
			if rt.Role == "" {
				require.NotNil(t, op.Security, "an open route says so with security: []")
				require.Empty(t, *op.Security)
				require.Contains(t, op.Description, "Role needed: none")
				return
			}
			require.Contains(t, op.Description, "Role needed: "+string(rt.Role))
			require.Contains(t, op.Responses, "401")
			require.Contains(t, op.Responses, "403")
			if op.Security != nil {
				require.NotEmpty(t, *op.Security, "an authenticated route has a security requirement")
			}
		})
	}
}

// successCode returns the operation's first 2xx response code, or "".
func successCode(op openapiOperation) string {
	var codes []string
	for c := range op.Responses {
		if strings.HasPrefix(c, "2") {
			codes = append(codes, c)
		}
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		return ""
	}
	return codes[0]
}

// The ExecutionStatus schema lists the statuses the code knows, in order.
func TestOpenAPIStatuses(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	var want []string
	for _, s := range execution.Statuses {
		want = append(want, string(s))
	}
	require.Equal(t, want, doc.Components.Schemas["ExecutionStatus"].Enum)
}

// The file is JSON indented with two spaces, ending in a newline.
func TestOpenAPIFormatted(t *testing.T) {
	t.Parallel()
	var compact, indented bytes.Buffer
	require.NoError(t, json.Compact(&compact, api.OpenAPI))
	require.NoError(t, json.Indent(&indented, compact.Bytes(), "", "  "))
	indented.WriteByte('\n')
	require.Equal(t, indented.String(), string(api.OpenAPI), "openapi.json: indent with two spaces")
}

// GET /v1/openapi.json serves the document, byte for byte.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest("GET", b.srv.URL+"/v1/openapi.json", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	onDisk, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.Equal(t, string(onDisk), string(body))
	require.Equal(t, string(api.OpenAPI), string(body))
}
