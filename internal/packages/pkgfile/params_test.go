package pkgfile_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

const paramsPackage = `
name: params
parameters:
  date:     {type: datetime, required: true}
  n:        {type: int, default: 1000}
  ratio:    {type: float, default: 0.5}
  dry_run:  {type: bool}
  regions:  {type: list, default: [eu, us]}
  label:    {type: string, default: sales}
  token:    {type: string, sensitive: true}
  pin:      {type: int, sensitive: true}
variables:
  rows:  {type: int, default: 0}
  when:  {type: datetime, default: "2026-01-02T03:04:05Z"}
  tags:  {type: list}
  score: {type: float, default: 3}
tasks: [{name: a, type: fail}]
`

func setupParams(t *testing.T) *pkgfile.Package {
	t.Helper()
	p, err := pkgfile.Load([]byte(paramsPackage), "params.yaml", fakeTypes())
	require.NoError(t, err)
	return p
}

func TestBind(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		given map[string]string
		typed map[string]any
		want  map[string]any // the values that differ from the defaults
		err   []string
	}{
		{
			name:  "defaults and zero values",
			given: map[string]string{"date": "2026-11-25T06:00:00Z"},
			want:  map[string]any{},
		},
		{
			name: "from the command line",
			given: map[string]string{
				"date": "2026-11-25T06:00:00Z", "n": " 42", "ratio": "1e-3", "dry_run": "true",
				"regions": "eu, us ,apac", "label": "", "token": "s3cret", "pin": "1234",
			},
			want: map[string]any{
				"n": 42, "ratio": 0.001, "dry_run": true, "regions": []any{"eu", "us", "apac"},
				"label": "", "token": "s3cret", "pin": 1234,
			},
		},
		{
			name:  "a JSON list on the command line",
			given: map[string]string{"date": "2026-11-25T06:00:00Z", "regions": `["eu", 2]`},
			want:  map[string]any{"regions": []any{"eu", float64(2)}},
		},
		{
			name: "from JSON values",
			typed: map[string]any{
				"date": "2026-11-25T06:00:00Z", "n": float64(7), "ratio": json.Number("2.5"), "dry_run": false,
				"regions": []string{"eu"}, "token": "s3cret", "pin": 99,
			},
			want: map[string]any{
				"n": 7, "ratio": 2.5, "regions": []any{"eu"}, "token": "s3cret", "pin": 99,
			},
		},
		{
			name:  "a time.Time",
			typed: map[string]any{"date": day},
			want:  map[string]any{},
		},
		{
			name:  "every problem at once, sensitive values never shown",
			given: map[string]string{"n": "many", "ratio": "NaN", "pin": "12a34", "dry_run": "maybe", "nope": "x"},
			typed: map[string]any{"n": 5, "token": 12345, "regions": "eu,us", "labl": "x"},
			err: []string{
				`parameters.date: required, and no value was given`,
				`parameters.dry_run: want bool, got "maybe"`,
				`parameters.labl: the package declares no such parameter (declared: date, dry_run, label, n, pin, ratio, regions, token); did you mean "label"?`,
				`parameters.n: given twice, as a string and as a typed value: give it once`,
				`parameters.n: want int, got "many"`,
				`parameters.nope: the package declares no such parameter (declared: date, dry_run, label, n, pin, ratio, regions, token)`,
				`parameters.pin: want int, got a value of another type`,
				`parameters.ratio: want float, got "NaN"`,
				`parameters.regions: want list (a JSON list such as ["eu", "us"], or eu,us on the command line), got "eu,us"`,
				`parameters.token: want string, got a value of another type`,
			},
		},
		{
			name:  "wrong JSON types",
			typed: map[string]any{"date": "25/11/2026", "n": 1.5, "label": 3, "dry_run": "true", "ratio": "0.5"},
			err: []string{
				`parameters.date: want datetime (RFC 3339, for example 2026-11-25T06:00:00Z), got "25/11/2026"`,
				`parameters.dry_run: want bool, got "true"`,
				`parameters.label: want string, got 3`,
				`parameters.n: want int, got 1.5`,
				`parameters.ratio: want float, got "0.5"`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := setupParams(t)
			got, err := pkgfile.Bind(p, tc.given, tc.typed)
			if tc.err != nil {
				require.Equal(t, tc.err, problemStrings(t, err))
				require.ErrorIs(t, err, pkgfile.ErrInvalid)
				require.NotContains(t, err.Error(), "12a34")
				require.NotContains(t, err.Error(), "12345")
				return
			}
			require.NoError(t, err)
			want := map[string]any{
				"date": day, "n": 1000, "ratio": 0.5, "dry_run": false,
				"regions": []any{"eu", "us"}, "label": "sales", "token": "", "pin": 0,
			}
			for k, v := range tc.want {
				want[k] = v
			}
			require.Equal(t, want, got)
		})
	}
}

func TestBindNoParameters(t *testing.T) {
	t.Parallel()
	p := &pkgfile.Package{Name: "none", Tasks: []pkgfile.Task{{Name: "a", Type: "fail"}}}
	got, err := pkgfile.Bind(p, nil, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = pkgfile.Bind(p, map[string]string{"x": "1"}, nil)
	require.EqualError(t, err, "parameters.x: the package declares no such parameter (it declares none)")
}

func TestInitialVariables(t *testing.T) {
	t.Parallel()
	vars, err := pkgfile.InitialVariables(setupParams(t))
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"rows": 0, "when": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "tags": []any{}, "score": 3.0,
	}, vars)

	_, err = pkgfile.InitialVariables(&pkgfile.Package{Variables: map[string]pkgfile.Variable{
		"a": {Type: "text"}, "b": {Type: pkgfile.Bool, Default: "yes"},
	}})
	require.Equal(t, []string{
		`variables.a.type: unknown type "text" (known: string, int, float, bool, datetime, list)`,
		`variables.b.default: want bool, got "yes"`,
	}, problemStrings(t, err))
}

func TestConvert(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		t    pkgfile.Type
		in   any
		want any
	}{
		{pkgfile.Int, float64(3), 3},
		{pkgfile.Int, json.Number("12"), 12},
		{pkgfile.Int, uint8(7), 7},
		{pkgfile.Int, 1e300, nil},
		{pkgfile.Int, "3", nil},
		{pkgfile.Float, 2, 2.0},
		{pkgfile.String, "x", "x"},
		{pkgfile.Bool, true, true},
		{pkgfile.DateTime, "2026-11-25T06:00:00+01:00", time.Date(2026, 11, 25, 6, 0, 0, 0, time.FixedZone("", 3600))},
		{pkgfile.List, [2]int{1, 2}, []any{1, 2}},
		{pkgfile.List, nil, nil},
		{"text", "x", nil},
	} {
		got, err := pkgfile.Convert(tc.t, tc.in)
		if tc.want == nil {
			require.Error(t, err, "%s %v", tc.t, tc.in)
			require.NotContains(t, err.Error(), "300", "the value is never shown")
			continue
		}
		require.NoError(t, err, "%s %v", tc.t, tc.in)
		if tm, ok := tc.want.(time.Time); ok {
			require.True(t, tm.Equal(got.(time.Time)))
			continue
		}
		require.Equal(t, tc.want, got, "%s %v", tc.t, tc.in)
	}
	v, ok := pkgfile.ParseValue(pkgfile.List, "")
	require.True(t, ok)
	require.Equal(t, []any{}, v)
	_, ok = pkgfile.ParseValue(pkgfile.List, "[1,")
	require.False(t, ok)
	_, ok = pkgfile.ParseValue("text", "x")
	require.False(t, ok)
}

func TestSensitiveAndRedact(t *testing.T) {
	t.Parallel()
	p := setupParams(t)
	p.Parameters["keys"] = pkgfile.Parameter{Type: pkgfile.List, Sensitive: true}
	values, err := pkgfile.Bind(p, map[string]string{
		"date": "2026-11-25T06:00:00Z", "token": `to"ken`, "pin": "4321", "label": "public", "keys": "alpha,be",
	}, nil)
	require.NoError(t, err)
	secrets := pkgfile.Sensitive(p, values)
	require.Equal(t, []string{`[\"alpha\",\"be\"]`, `["alpha","be"]`, `to\"ken`, `to"ken`, "alpha", "4321", "be"}, secrets)

	r := pkgfile.NewRedactor(secrets)
	require.Equal(t, `Bearer *** pin=*** ["***"] {"t":"***"} public ***`,
		r.Redact(`Bearer to"ken pin=4321 ["alpha"] {"t":"to\"ken"} public ["alpha","be"]`))
	require.Equal(t, "x", (*pkgfile.Redactor)(nil).Redact("x"))
	require.Equal(t, "x", pkgfile.NewRedactor([]string{""}).Redact("x"))

	// A sensitive parameter with no value given has nothing to redact.
	values, err = pkgfile.Bind(p, map[string]string{"date": "2026-11-25T06:00:00Z"}, nil)
	require.NoError(t, err)
	require.Empty(t, pkgfile.Sensitive(p, values), "zero values hide nothing")
}
