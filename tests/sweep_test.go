package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// The sweep's tokens besides the admin one (token), one per lower role.
const (
	sweepExecutorToken = "sweep-executor-token-0123456789"
	sweepReaderToken   = "sweep-reader-token-0123456789"
)

// TestMalformedInputEveryRoute reads the OpenAPI document the API serves
// and sends every operation in it malformed input of every kind: no token,
// wrong tokens, each role; bad path parameters (`../`, `%00`, invalid
// UTF-8, huge); every declared query and header parameter with wrong
// types, extreme numbers and dates, bad cursors; bodies that are not JSON,
// not an object, too large or too deep, and each field of the document's
// examples with wrong types, NUL, invalid UTF-8, huge strings, deep
// nesting, extreme numbers and dates, missing or extra. Nothing may answer
// 5xx or hang; every 4xx is the documented JSON error; auth failures are
// 401 and 403 as the document says. Afterwards the server still answers
// and a catalog made before the sweep reads exactly as before.
//
// The cases come from the document, so a new route is swept as soon as it
// is documented (and TestOpenAPIMatchesRoutes makes sure it is).
func TestMalformedInputEveryRoute(t *testing.T) {
	begin := time.Now()
	// Own tables and queues; the worker serves only the "idle" pool, so
	// what the sweep manages to submit stays pending and runs nothing.
	d := startDev(t, buildScaleout(t),
		"SCALEOUT_PREFIX=sweep", "SCALEOUT_WORKER_POOL=idle",
		"SCALEOUT_TOKENS=sweep-executor:executor:"+sweepExecutorToken+",sweep-reader:reader:"+sweepReaderToken)

	var raw map[string]any
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/openapi.json", "", &raw))
	doc := &openapiSweepDoc{raw: raw}
	ops := doc.operations(t)
	require.NotEmpty(t, ops)

	// Two catalogs alike: the sweep aims at "target" (its names stand in
	// for the document's examples), and "keep" must come out untouched.
	keep := sweepFixture(t, d, testenv.Name("sweep-keep"))
	target := sweepFixture(t, d, testenv.Name("sweep-target"))
	before := keep.snapshot(t, d)

	// The live worker stands for the document's worker id (earlier runs on
	// the same tables may have left offline ones).
	var worker string
	for deadline := time.Now().Add(20 * time.Second); worker == ""; time.Sleep(100 * time.Millisecond) {
		var list struct {
			Workers []sweepWorker `json:"workers"`
		}
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/workers", "", &list))
		if i := slices.IndexFunc(list.Workers, func(w sweepWorker) bool { return w.Online }); i >= 0 {
			worker = list.Workers[i].ID
		}
		require.True(t, worker != "" || time.Now().Before(deadline), "the dev worker is not online after 20s: %+v", list.Workers)
	}
	values := doc.targetValues(target, worker)

	var cases []sweepCase
	for _, op := range ops {
		cases = append(cases, op.cases(doc, values)...)
	}
	// Deletes last, so that what they remove is there for the rest.
	var phases [2][]sweepCase
	for _, c := range cases {
		if c.op.method == "DELETE" {
			phases[1] = append(phases[1], c)
		} else {
			phases[0] = append(phases[0], c)
		}
	}

	client := &http.Client{
		Timeout: 15 * time.Second,
		// A cleaned path (`..`) is redirected: the answer is the redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 8},
	}
	var (
		mu       sync.Mutex
		failures []string
		statuses = map[int]int{}
	)
	start := time.Now()
	for _, phase := range phases {
		work := make(chan sweepCase)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for c := range work {
					status, problem := c.run(client, d.base)
					mu.Lock()
					statuses[status]++
					if problem != "" {
						failures = append(failures, problem)
					}
					mu.Unlock()
				}
			})
		}
		for _, c := range phase {
			work <- c
		}
		close(work)
		wg.Wait()
	}
	t.Logf("sweep: %d requests over %d operations in %s (%s after the start); statuses %v", len(cases), len(ops),
		time.Since(start).Round(time.Millisecond), start.Sub(begin).Round(time.Millisecond), statuses)
	sort.Strings(failures)
	for i, f := range failures {
		if i == 40 {
			t.Errorf("... and %d more", len(failures)-i)
			break
		}
		t.Error(f)
	}

	// The process is alive and healthy, and the kept catalog is as it was.
	select {
	case <-d.exited:
		t.Fatalf("scaleout dev exited during the sweep (%v)", d.err)
	default:
	}
	var health map[string]string
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/health", "", &health))
	require.Equal(t, "ok", health["status"])
	after := keep.snapshot(t, d)
	for _, k := range slices.Sorted(maps.Keys(before)) {
		require.JSONEq(t, before[k], after[k], "GET %s changed during the sweep", k)
	}
	var e execution
	require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/executions",
		must(t, map[string]any{"folder": keep.folder, "project": keep.project, "package": keep.pkg,
			"environment": map[string]any{"environment": keep.environment}}), &e), "a good request after the sweep")
	require.Equal(t, "pending", e.Status)
	require.NotContains(t, d.logs.String(), "handler panic")
}

type sweepWorker struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
}

// sweepCatalog is a folder with a deployed project, an environment it
// references and binds, and a pending execution of its package.
type sweepCatalog struct {
	folder, project, environment, pkg, execution string
}

// sweepFixture makes a catalog named as the document's examples name
// theirs (project "warehouse", environment "prod"), in folder.
func sweepFixture(t *testing.T, d *dev, folder string) sweepCatalog {
	t.Helper()
	c := sweepCatalog{folder: folder, project: "warehouse", environment: "prod", pkg: "hello"}
	base := d.base + "/v1/folders"
	var out map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", base, must(t, map[string]any{"name": folder, "description": "swept"}), &out))
	require.Equal(t, http.StatusCreated, call(t, "POST", base+"/"+folder+"/environments", must(t, map[string]any{
		"name": c.environment, "description": "for the sweep", "variables": map[string]any{
			"who":   map[string]any{"type": "string", "value": "Ada"},
			"token": map[string]any{"type": "string", "value": "sweep-s3cret", "sensitive": true},
			"n":     map[string]any{"type": "int", "value": 5},
		}}), &out))
	project := base + "/" + folder + "/projects/" + c.project
	pkg := "name: hello\nparameters:\n  who: {type: string, default: world}\n  token: {type: string, sensitive: true}\n" +
		"tasks:\n  - name: greet\n    type: exec\n    with:\n      command: [echo, \"hello, ${params.who}\"]\n"
	require.Equal(t, http.StatusCreated, call(t, "PUT", project, must(t, map[string]any{"packages": map[string]string{c.pkg: pkg}}), &out))
	require.Equal(t, http.StatusCreated, call(t, "PUT", project, must(t, map[string]any{"packages": map[string]string{c.pkg: pkg},
		"files": map[string]string{"sql/load.sql": "select 1;\n"}}), &out))
	require.Equal(t, http.StatusOK, call(t, "PUT", project+"/references", `{"references":[{"environment":"prod"}]}`, &out))
	require.Equal(t, http.StatusOK, call(t, "PUT", project+"/bindings", `{"bindings":{"who":"who","token":"token"}}`, &out))
	var e execution
	require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/executions", must(t, map[string]any{
		"folder": folder, "project": c.project, "package": c.pkg, "environment": map[string]any{"environment": c.environment}}), &e))
	c.execution = e.ID
	return c
}

// snapshot reads everything of the catalog: path → body.
func (c sweepCatalog) snapshot(t *testing.T, d *dev) map[string]string {
	t.Helper()
	folder := "/v1/folders/" + c.folder
	out := map[string]string{}
	for _, p := range []string{folder, folder + "/projects", folder + "/projects/" + c.project,
		folder + "/projects/" + c.project + "/versions", folder + "/environments", folder + "/environments/" + c.environment,
		"/v1/executions/" + c.execution, "/v1/executions/" + c.execution + "/messages"} {
		var v json.RawMessage
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+p, "", &v), p)
		out[p] = string(v)
	}
	return out
}

// openapiSweepDoc is the served OpenAPI document, read generically.
type openapiSweepDoc struct{ raw map[string]any }

// deref follows a local "$ref" (and a single allOf, as the document
// uses to describe a referenced schema).
func (d *openapiSweepDoc) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for range 10 {
		if all, ok := m["allOf"].([]any); ok && len(all) == 1 {
			m, _ = all[0].(map[string]any)
			continue
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = d.raw
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

type sweepParam struct {
	name, in string
	schema   map[string]any
	example  any
	desc     string
}

type sweepOp struct {
	method, path string
	// role is the role the document says the operation needs ("" none).
	role      string
	params    []sweepParam
	responses map[string]bool
	// bodies are the document's example bodies (nil: no body).
	bodies     []any
	bodySchema map[string]any
}

var roleNeeded = regexp.MustCompile(`Role needed: (\w+)`)

func (d *openapiSweepDoc) operations(t *testing.T) []sweepOp {
	t.Helper()
	var ops []sweepOp
	paths, _ := d.raw["paths"].(map[string]any)
	for path, item := range paths {
		item := item.(map[string]any)
		for method, o := range item {
			if !openapiMethod[method] {
				continue
			}
			o := o.(map[string]any)
			op := sweepOp{method: strings.ToUpper(method), path: path, responses: map[string]bool{}}
			desc, _ := o["description"].(string)
			m := roleNeeded.FindStringSubmatch(desc)
			require.NotNil(t, m, "%s %s: the description says \"Role needed: ...\"", op.method, path)
			if m[1] != "none" {
				op.role = m[1]
			}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 {
				require.Empty(t, op.role, "%s %s: no security, but a role", op.method, path)
			}
			var params []any
			if p, ok := item["parameters"].([]any); ok {
				params = append(params, p...)
			}
			if p, ok := o["parameters"].([]any); ok {
				params = append(params, p...)
			}
			for _, p := range params {
				p := d.deref(p)
				sp := sweepParam{name: p["name"].(string), in: p["in"].(string), schema: d.deref(p["schema"]), example: p["example"]}
				sp.desc, _ = p["description"].(string)
				op.params = append(op.params, sp)
			}
			for code := range o["responses"].(map[string]any) {
				op.responses[code] = true
			}
			if rb := d.deref(o["requestBody"]); rb != nil {
				content := rb["content"].(map[string]any)
				mt := d.deref(content["application/json"])
				require.NotNil(t, mt, "%s %s: a JSON body", op.method, path)
				op.bodySchema = d.deref(mt["schema"])
				if ex, ok := mt["example"]; ok {
					op.bodies = append(op.bodies, ex)
				}
				exs, _ := mt["examples"].(map[string]any)
				for _, k := range slices.Sorted(maps.Keys(exs)) {
					op.bodies = append(op.bodies, d.deref(exs[k])["value"])
				}
				if len(op.bodies) == 0 {
					op.bodies = append(op.bodies, map[string]any{})
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].method+ops[i].path < ops[j].method+ops[j].path })
	return ops
}

var openapiMethod = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}

// targetValues maps each example value of a path parameter in the
// document to what stands for it here: the target catalog's names, its
// execution's id, the live worker's id. Other examples stay as they are.
func (d *openapiSweepDoc) targetValues(c sweepCatalog, worker string) map[string]string {
	out := map[string]string{}
	by := map[string]string{"folder": c.folder, "project": c.project, "environment": c.environment}
	paths, _ := d.raw["paths"].(map[string]any)
	for _, item := range paths {
		for method, o := range item.(map[string]any) {
			if !openapiMethod[method] {
				continue
			}
			params, _ := o.(map[string]any)["parameters"].([]any)
			for _, p := range params {
				p := d.deref(p)
				ex, ok := p["example"].(string)
				if p["in"] != "path" || !ok {
					continue
				}
				switch {
				case by[p["name"].(string)] != "":
					out[ex] = by[p["name"].(string)]
				case d.deref(p["schema"])["format"] == "uuid":
					out[ex] = c.execution
				case p["name"] == "id":
					out[ex] = worker
				}
			}
		}
	}
	return out
}

// rebase replaces, anywhere in v, a string that is a path parameter's
// example by its target value.
func rebase(v any, values map[string]string) any {
	switch x := v.(type) {
	case string:
		if r, ok := values[x]; ok {
			return r
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rebase(e, values)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = rebase(e, values)
		}
		return out
	}
	return v
}

// What a case must answer.
type sweepExpect int

const (
	// expectClientError: no 5xx, a documented status, not 401/403 (the
	// caller is the admin).
	expectClientError sweepExpect = iota
	// expectPathError: as expectClientError, but a path parameter that
	// the router cleans or cannot match may also give 3xx, 404 or 405.
	expectPathError
	expect401
	expect403
	// expectAllowed: a caller whose role allows the operation.
	expectAllowed
)

type sweepCase struct {
	op     *sweepOp
	what   string
	path   string // escaped
	query  string // escaped
	header http.Header
	body   []byte
	expect sweepExpect
}

func (c sweepCase) run(client *http.Client, base string) (int, string) {
	u := base + c.path
	if c.query != "" {
		u += "?" + c.query
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.op.method, u, body)
	if err != nil {
		return 0, fmt.Sprintf("%s %s: %s: cannot build the request: %v", c.op.method, c.op.path, c.what, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	where := fmt.Sprintf("%s %s: %s", c.op.method, c.op.path, c.what)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Sprintf("%s: no answer after %s: %v", where, time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Sprintf("%s: reading the answer: %v", where, err)
	}
	st := resp.StatusCode
	got := fmt.Sprintf("%s: %d %s", where, st, clip(b))
	switch {
	case st >= 500:
		return st, got + " (a 5xx)"
	case c.expect == expect401 && st != http.StatusUnauthorized:
		return st, got + " (want 401)"
	case c.expect == expect403 && st != http.StatusForbidden:
		return st, got + " (want 403)"
	case c.expect != expect401 && c.expect != expect403 && (st == http.StatusUnauthorized || st == http.StatusForbidden):
		return st, got + " (the caller may call this operation)"
	}
	pathLike := c.expect == expectPathError && (st/100 == 3 || st == http.StatusNotFound || st == http.StatusMethodNotAllowed)
	if !pathLike && !c.op.responses[strconv.Itoa(st)] && !c.op.responses[fmt.Sprintf("%dXX", st/100)] && !c.op.responses["default"] {
		return st, got + " (a status the document does not list for this operation)"
	}
	if st >= 400 {
		var e struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return st, got + fmt.Sprintf(" (Content-Type %q, not JSON)", ct)
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Code == "" || strings.TrimSpace(e.Error.Message) == "" {
			return st, got + " (not the JSON error shape {\"error\": {\"code\", \"message\"}})"
		}
		if m := goInternals.FindString(e.Error.Message); m != "" {
			return st, got + fmt.Sprintf(" (the message shows Go internals, %q, not what to fix)", m)
		}
	}
	return st, ""
}

// goInternals are what a message says when it passes on a Go error
// instead of the API's terms: Go types, embedded struct names, decoder
// wording.
var goInternals = regexp.MustCompile(`interface ?\{\}|map\[|\[\][a-z]|\b(float|u?int)(32|64)\b|\bGo (struct|value)\b|` +
	`\bjson: |\b[a-z]+\.[A-Z][A-Za-z]+\b|"[A-Z][A-Za-z]+\.[a-z_]+`)

func clip(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// A value put where a body field was; raw ones are spliced into the JSON
// text as they are (they cannot be marshalled).
type sweepValue struct {
	name string
	v    any
	raw  []byte
}

var (
	hugeString = strings.Repeat("a", 100<<10)
	sweepDeep  = func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	// sweepValues replace a field: wrong types, extremes, NUL, invalid
	// UTF-8, dates at the ends of the calendar, huge and deep values.
	sweepValues = []sweepValue{
		{name: "null", v: nil},
		{name: "true", v: true},
		{name: "0", v: json.Number("0")},
		{name: "-1", v: json.Number("-1")},
		{name: "1.5", v: json.Number("1.5")},
		{name: "-0", v: json.Number("-0")},
		{name: "2^63", v: json.Number("9223372036854775808")},
		{name: "-2^63-1", v: json.Number("-9223372036854775809")},
		{name: "1e400", v: json.Number("1e400")},
		{name: "1e-400", v: json.Number("1e-400")},
		{name: "max float", v: json.Number("1.7976931348623157e308")},
		{name: "empty string", v: ""},
		{name: "string", v: "sweep"},
		{name: "huge string", v: hugeString},
		{name: "escaped NUL", v: "a\x00b"},
		{name: "raw NUL", raw: []byte("\"a\x00b\"")},
		{name: "invalid UTF-8", raw: []byte("\"a\xff\xfeb\xc0\xaf\"")},
		{name: "lone surrogate", raw: []byte(`"\ud800x"`)},
		{name: "date 0001-01-01", v: "0001-01-01T00:00:00Z"},
		{name: "date 9999-12-31", v: "9999-12-31T23:59:59Z"},
		{name: "date 0000-00-00", v: "0000-00-00T00:00:00Z"},
		{name: "date 2026-02-30", v: "2026-02-30T25:61:61+99:00"},
		{name: "path", v: "../../../../etc/passwd"},
		{name: "expression", v: "${params.x}${{"},
		{name: "empty array", v: []any{}},
		{name: "array of null", v: []any{nil}},
		{name: "empty object", v: map[string]any{}},
		{name: "unknown object", v: map[string]any{"sweep_unknown": json.Number("1")}},
		{name: "deep arrays 20000", raw: sweepDeep("[", "]", 20000)},
		{name: "deep arrays 2000", raw: sweepDeep("[", "]", 2000)},
		{name: "deep objects 2000", raw: []byte(strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000))},
	}
	// sweepDeepValues are the few tried below the first levels.
	sweepDeepValues = []string{"null", "true", "-1", "1e400", "empty string", "huge string", "escaped NUL", "invalid UTF-8",
		"date 0001-01-01", "empty object", "empty array", "deep arrays 20000"}
)

// sweepQueryValues are put in each query and header parameter (escaped).
var sweepQueryValues = []struct{ name, v string }{
	{"empty", ""},
	{"NUL", "%00"},
	{"NUL inside", "a%00b"},
	{"invalid UTF-8", "%FF%FE%C0%AF"},
	{"huge", strings.Repeat("a", 8000)},
	{"-1", "-1"},
	{"0", "0"},
	{"1.5", "1.5"},
	{"2^63", "9223372036854775808"},
	{"-2^63-1", "-9223372036854775809"},
	{"1e400", "1e400"},
	{"NaN", "NaN"},
	{"true", "true"},
	{"spaces", "+1+"},
	{"date 0001-01-01", "0001-01-01T00:00:00Z"},
	{"date 9999-12-31", "9999-12-31T23:59:59Z"},
	{"date 2099", "2099-01-01T00:00:00Z"},
	{"date 1969", "1969-12-31T23:59:59Z"},
	{"date offset", "2026-11-25T10:00:00%2B14:00"},
	{"date invalid", "2026-02-30T25:61:61Z"},
	{"date only", "2026-11-25"},
	{"path", "..%2F..%2Fetc%2Fpasswd"},
	{"cursor base64 junk", "eyJ9"},
	{"cursor base64 JSON", "eyJkIjoiOTk5OS0xMi0zMSIsImlkIjoiLi4vLi4ifQ"},
	{"cursor base64 huge", strings.Repeat("QUFB", 3000)},
	{"cursor not base64", "!!!*%25%25"},
	{"cursor dotted", "1.2.3"},
	{"cursor negative", "-1.-1"},
	{"cursor huge numbers", "99999999999999999999.99999999999999999999"},
}

// sweepPathValues replace a path parameter (escaped; some are raw `..`).
var sweepPathValues = []struct{ name, v string }{
	{"..", ".."},
	{"../x", "../x"},
	{"encoded ../", "..%2F..%2Fetc%2Fpasswd"},
	{"encoded ..", "%2E%2E"},
	{"NUL", "%00"},
	{"NUL inside", "a%00b"},
	{"invalid UTF-8", "%FF%FE"},
	{"overlong /", "%C0%AF"},
	{"huge", strings.Repeat("a", 8000)},
	{"just too long", strings.Repeat("a", 129)},
	{"leading dash", "-x"},
	{"space", "%20"},
	{"newline", "a%0Ab"},
	{"slash", "a%2Fb"},
	{"percent", "%25"},
	{"unicode", "%E2%98%83"},
	{"nil UUID", "00000000-0000-0000-0000-000000000000"},
	{"max UUID", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
	{"UUID in braces", "%7B01a21404-fe6e-7674-964b-99a66dab3bca%7D"},
	{"0", "0"},
	{"-1", "-1"},
	{"date", "9999-12-31T23:59:59Z"},
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// cases derives every case of one operation from the document.
func (op *sweepOp) cases(doc *openapiSweepDoc, values map[string]string) []sweepCase {
	pathValues := map[string]string{}
	for _, p := range op.params {
		if p.in == "path" {
			ex := fmt.Sprint(p.example)
			if v, ok := values[ex]; ok {
				ex = v
			}
			pathValues[p.name] = url.PathEscape(ex)
		}
	}
	buildPath := func(vals map[string]string) string {
		return pathParam.ReplaceAllStringFunc(op.path, func(m string) string {
			if v, ok := vals[m[1:len(m)-1]]; ok {
				return v
			}
			return "x"
		})
	}
	goodPath := buildPath(pathValues)
	var goodBody []byte
	if op.bodies != nil {
		goodBody, _ = json.Marshal(rebase(op.bodies[0], values))
	}
	jsonHeader := func(tok string) http.Header {
		h := http.Header{}
		if tok != "" {
			h.Set("Authorization", "Bearer "+tok)
		}
		if op.bodies != nil {
			h.Set("Content-Type", "application/json")
		}
		return h
	}
	admin := func(what, path, query string, h http.Header, body []byte, exp sweepExpect) sweepCase {
		if h == nil {
			h = jsonHeader(token)
		}
		return sweepCase{op: op, what: what, path: path, query: query, header: h, body: body, expect: exp}
	}
	var out []sweepCase

	// Authentication and roles, with the operation's good request.
	open := op.role == ""
	authExp := expect401
	if open {
		authExp = expectAllowed
	}
	for _, a := range []struct{ what, header string }{
		{"no Authorization", ""},
		{"wrong token", "Bearer wrong-token-0123456789abcdef"},
		{"the admin token with a byte more", "Bearer " + token + "x"},
		{"empty bearer", "Bearer "},
		{"bearer without a space", "Bearer"},
		{"basic scheme", "Basic " + token},
		{"huge token", "Bearer " + strings.Repeat("t", 6000)},
		{"token with non-ASCII bytes", "Bearer \xff\xfe" + token},
	} {
		h := jsonHeader("")
		if a.header != "" {
			h.Set("Authorization", a.header)
		}
		out = append(out, sweepCase{op: op, what: a.what, path: goodPath, header: h, body: goodBody, expect: authExp})
	}
	rank := map[string]int{"reader": 1, "executor": 2, "admin": 3}
	for role, tok := range map[string]string{"reader": sweepReaderToken, "executor": sweepExecutorToken, "admin": token} {
		exp := expectAllowed
		if !open && rank[role] < rank[op.role] {
			exp = expect403
		}
		out = append(out, sweepCase{op: op, what: "as " + role, path: goodPath, header: jsonHeader(tok), body: goodBody, expect: exp})
	}

	// Path parameters.
	for _, p := range op.params {
		if p.in != "path" {
			continue
		}
		for _, v := range sweepPathValues {
			vals := maps.Clone(pathValues)
			vals[p.name] = v.v
			out = append(out, admin(fmt.Sprintf("path %s=%s", p.name, v.name), buildPath(vals), "", nil, goodBody, expectPathError))
		}
	}

	// Query and header parameters, each on its own, and unknown ones; a
	// number's documented bounds, and one past each.
	for _, p := range op.params {
		values := slices.Clone(sweepQueryValues)
		for _, b := range []string{"minimum", "maximum"} {
			if n, ok := p.schema[b].(float64); ok {
				values = append(values, struct{ name, v string }{b, fmt.Sprint(n)})
				if b == "minimum" {
					n--
				} else {
					n++
				}
				values = append(values, struct{ name, v string }{"past the " + b, fmt.Sprint(n)})
			}
		}
		for _, v := range values {
			switch p.in {
			case "query":
				out = append(out, admin(fmt.Sprintf("query %s=%s", p.name, v.name), goodPath, url.QueryEscape(p.name)+"="+v.v, nil, goodBody, expectClientError))
			case "header":
				val, err := url.PathUnescape(v.v)
				if err != nil || strings.ContainsFunc(val, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					continue // not a value a client can send in a header
				}
				h := jsonHeader(token)
				h.Set(p.name, val)
				out = append(out, admin(fmt.Sprintf("header %s=%s", p.name, v.name), goodPath, "", h, goodBody, expectClientError))
			}
		}
		if p.in == "query" {
			out = append(out, admin("query "+p.name+" twice", goodPath, p.name+"=1&"+p.name+"=2", nil, goodBody, expectClientError))
		}
	}
	for _, q := range []string{"sweep_unknown=1", "%00=%00", "%FF=1", "&&&==", strings.Repeat("a=1&", 2000)} {
		out = append(out, admin("query "+clip([]byte(q)), goodPath, q, nil, goodBody, expectClientError))
	}

	if op.bodies == nil {
		return out
	}
	// Whole bodies that are not one JSON object, or not JSON at all.
	bigObject := []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`)
	for _, b := range []struct{ what, body string }{
		{"empty body", ""}, {"blank body", " \n"}, {"null body", "null"}, {"array body", "[]"}, {"array of objects", "[{}]"},
		{"string body", `"x"`}, {"number body", "1"}, {"boolean body", "true"}, {"truncated", `{"a":`}, {"unbalanced", "{}}"},
		{"two objects", "{}{}"}, {"trailing garbage", "{} x"}, {"missing value", `{"a":}`}, {"single quotes", "{'a':1}"},
		{"trailing comma", `{"a":1,}`}, {"raw NUL", "\x00"}, {"NUL after object", "{}\x00"}, {"UTF-16 BOM", "\xff\xfe{\x00}\x00"},
		{"UTF-8 BOM", "\xef\xbb\xbf{}"}, {"invalid UTF-8 key", "{\"\xff\":1}"}, {"duplicate keys", `{"a":1,"a":2}`},
		{"deep arrays 100000", string(sweepDeep("[", "]", 100000))},
		{"deep objects 100000", strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)},
		{"over 1 MiB", string(bigObject)},
		{"over 1 MiB of [", strings.Repeat("[", 2<<20)},
	} {
		out = append(out, admin(b.what, goodPath, "", nil, []byte(b.body), expectClientError))
	}
	for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "\xff"} {
		h := jsonHeader(token)
		h.Set("Content-Type", ct)
		out = append(out, admin("Content-Type "+ct, goodPath, "", h, goodBody, expectClientError))
	}

	// Each example, each of its fields changed, removed, or added; each
	// declared field no example gives, added to the first example.
	covered := map[string]bool{}
	for _, ex := range op.bodies {
		if obj, ok := ex.(map[string]any); ok {
			for k := range obj {
				covered[k] = true
			}
		}
	}
	for i, ex := range op.bodies {
		ex = rebase(ex, values)
		for _, m := range mutations(ex) {
			out = append(out, admin(fmt.Sprintf("example %d %s", i+1, m.what), goodPath, "", nil, m.body, expectClientError))
		}
		// Declared fields the example leaves out.
		obj, ok := ex.(map[string]any)
		if !ok {
			continue
		}
		props, _ := doc.deref(op.bodySchema)["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if _, ok := obj[name]; ok || covered[name] {
				continue
			}
			covered[name] = true
			for _, v := range sweepValues {
				out = append(out, admin(fmt.Sprintf("example %d %s=%s", i+1, name, v.name), goodPath, "", nil, withValue(obj, []any{name}, v), expectClientError))
			}
		}
	}
	return out
}

type sweepBody struct {
	what string
	body []byte
}

// mutations changes v at every place: each value of sweepValues (fewer
// below the second level), each object key removed, an unknown key added.
func mutations(root any) []sweepBody {
	var out []sweepBody
	var walk func(v any, at []any)
	walk = func(v any, at []any) {
		if len(at) > 0 {
			for _, sv := range sweepValues {
				if len(at) > 2 && !slices.Contains(sweepDeepValues, sv.name) {
					continue
				}
				out = append(out, sweepBody{fmt.Sprintf("%s=%s", pointer(at), sv.name), withValue(root, at, sv)})
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				out = append(out, sweepBody{fmt.Sprintf("%s without %q", pointer(at), k), marshalWithout(root, append(slices.Clone(at), k))})
				walk(x[k], append(slices.Clone(at), k))
			}
			out = append(out, sweepBody{pointer(at) + " with an unknown field",
				withValue(root, append(slices.Clone(at), "sweep_unknown"), sweepValue{v: json.Number("1")})})
		case []any:
			for i, e := range x {
				walk(e, append(slices.Clone(at), i))
			}
		}
	}
	walk(root, nil)
	return out
}

func pointer(at []any) string {
	var b strings.Builder
	for _, p := range at {
		fmt.Fprintf(&b, "/%v", p)
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

const sweepRawMark = "\x01sweep-raw\x01"

// withValue returns root's JSON with the value at path "at" set to sv
// (a new key when the object has none).
func withValue(root any, at []any, sv sweepValue) []byte {
	v := sv.v
	if sv.raw != nil {
		v = sweepRawMark
	}
	b, err := json.Marshal(set(root, at, v, false))
	if err != nil {
		panic(err)
	}
	if sv.raw != nil {
		quoted, _ := json.Marshal(sweepRawMark)
		b = bytes.Replace(b, quoted, sv.raw, 1)
	}
	return b
}

func marshalWithout(root any, at []any) []byte {
	b, err := json.Marshal(set(root, at, nil, true))
	if err != nil {
		panic(err)
	}
	return b
}

// set copies root with the value at "at" replaced (or deleted).
func set(root any, at []any, v any, del bool) any {
	if len(at) == 0 {
		return v
	}
	switch x := root.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, e := range x {
			out[k] = e
		}
		k := at[0].(string)
		if len(at) == 1 && del {
			delete(out, k)
		} else {
			out[k] = set(x[k], at[1:], v, del)
		}
		return out
	case []any:
		out := slices.Clone(x)
		i := at[0].(int)
		out[i] = set(x[i], at[1:], v, del)
		return out
	}
	return root
}
