package dataflow

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestSettingsGettersAndProblems(t *testing.T) {
	t.Parallel()
	s := NewSettings(map[string]any{
		"file": "a.csv", "header": "yes", "skip": 3, "limit": -1, "mode": "apend",
		"columns": []any{map[string]any{"name": "id", "type": "int"}, map[string]any{"name": "id", "type": "decimal"}, "x"},
		"size":    "2MiB", "filez": 1, "later": "${params.x}", "null_value": nil,
	}, true)
	f, ok := s.String("file")
	require.True(t, ok)
	require.Equal(t, "a.csv", f)
	require.False(t, s.Bool("header", false))
	require.Equal(t, 3, s.Int("skip", 0, 0, 10))
	require.Equal(t, 7, s.Int("limit", 7, 0, 10))
	require.Equal(t, "overwrite", s.Enum("mode", "overwrite", "overwrite", "append"))
	require.Equal(t, int64(2<<20), s.Bytes("size", 0))
	_, ok = s.String("later")
	require.False(t, ok, "a placeholder is not known while checking")
	cols, _, ok := s.Columns("columns")
	require.False(t, ok)
	require.Equal(t, "id", cols[0].Name)
	require.Equal(t, arrow.PrimitiveTypes.Int64, cols[0].Type)
	_, ok = s.RequiredString("table", "sales")
	require.False(t, ok)
	_, ok = s.String("null_value")
	require.False(t, ok, "a null reads as absent")
	err := s.Err()
	require.Error(t, err)
	for _, want := range []string{
		`settings.header "yes": want true or false`,
		`settings.limit -1: want a whole number from 0 to 10`,
		`settings.mode "apend": want one of overwrite, append; did you mean "append"?`,
		`settings.columns[1].name "id": a column of this name is listed already`,
		`settings.columns[1].type "decimal": unknown column type "decimal"`,
		`settings.columns[2] "x": want an object, not a string`,
		`settings.table: required: e.g. sales`,
		`settings.filez: unknown setting: did you mean "file"?`,
		`settings.null_value: is null (YAML reads an unquoted null, ~ or an empty value as null): quote the text, as 'NULL', or leave the setting out`,
	} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "settings.later")
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[any]int64{"256MiB": 256 << 20, "1GB": 1e9, "1.5 KiB": 1536, 4096: 4096, "10k": 10 << 10, "100B": 100} {
		got, err := ParseBytes(in)
		require.NoError(t, err, "%v", in)
		require.Equal(t, want, got, "%v", in)
	}
	for _, in := range []any{"lots", "12 parsecs", 0, "-1MB", true} {
		_, err := ParseBytes(in)
		require.Error(t, err, "%v", in)
	}
}

func TestResolveFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	for _, n := range []string{"a.csv", "b.csv", "in/c.csv", "in/d.txt"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("x"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(dir, "link.csv")))

	got, err := ResolveFiles(dir, "*.csv")
	require.ErrorContains(t, err, "leads outside the scratch directory")
	require.Nil(t, got)
	got, err = ResolveFiles(dir, []any{"b.csv", "in/*.csv", "a.csv", "b.csv"})
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "in/c.csv")}, got)
	for spec, want := range map[string]string{
		"../x.csv":                           "outside the scratch directory",
		filepath.Join(outside, "secret.csv"): "outside the scratch directory",
		"missing.csv":                        `file "missing.csv" does not exist`,
		"in":                                 "is a directory",
		"none/*.csv":                         "matches no file",
		"link.csv":                           "leads outside",
		"[":                                  "glob",
	} {
		_, err := ResolveFiles(dir, spec)
		require.ErrorContains(t, err, want, spec)
	}
	p, err := ResolveFile(dir, "out/new.csv")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "out/new.csv"), p)
	_, err = ResolveFile(dir, "../../etc/passwd")
	require.Error(t, err)
}

func TestValuesRoundTrip(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	day := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		typ  string
		in   []any
		want []any
		bad  any
	}{
		{"int64", []any{int64(1), "2", 3.0, nil}, []any{int64(1), int64(2), int64(3), nil}, "2.5"},
		{"int16", []any{int64(7)}, []any{int64(7)}, int64(40000)},
		{"float", []any{1.5, "2.5", int64(3)}, []any{1.5, 2.5, 3.0}, "abc"},
		{"string", []any{"a", int64(1), 2.5, true}, []any{"a", "1", "2.5", "true"}, nil},
		{"bool", []any{true, "false"}, []any{true, false}, "maybe"},
		{"date", []any{"2024-05-06", day}, []any{day, day}, "May 6"},
		{"timestamp", []any{"2024-05-06T00:00:00Z"}, []any{day}, "yesterday"},
	} {
		typ, err := ParseType(tc.typ)
		require.NoError(t, err)
		b := array.NewBuilder(mem, typ)
		for _, v := range tc.in {
			require.NoError(t, AppendValue(b, v), "%s %v", tc.typ, v)
		}
		if tc.bad != nil {
			require.Error(t, AppendValue(b, tc.bad), "%s %v", tc.typ, tc.bad)
		}
		arr := b.NewArray()
		b.Release()
		var got []any
		for i := range arr.Len() {
			got = append(got, Value(arr, i))
		}
		arr.Release()
		require.Equal(t, tc.want, got, tc.typ)
	}
	_, err := ParseType("strng")
	require.ErrorContains(t, err, `did you mean "string"?`)
}

func TestCompileRow(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "unit price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "vars", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rb := array.NewRecordBuilder(mem, schema)
	rb.Field(0).(*array.Int64Builder).AppendValues([]int64{2, 3}, nil)
	rb.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, 2}, nil)
	rb.Field(2).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	rb.Field(3).(*array.StringBuilder).AppendValues([]string{"v1", "v2"}, nil)
	batch := rb.NewRecordBatch()
	rb.Release()
	defer batch.Release()
	roots := map[string]any{"params": map[string]any{"k": int64(10)}, "vars": map[string]any{"n": "x"}}
	for src, want := range map[string]struct {
		typ  arrow.DataType
		vals []any
	}{
		"qty * 2":                 {arrow.PrimitiveTypes.Int64, []any{int64(4), int64(6)}},
		`qty * row["unit price"]`: {nil, []any{3.0, 6.0}},
		"name + '!'":              {arrow.BinaryTypes.String, []any{"a!", "b!"}},
		"qty > 2":                 {arrow.FixedWidthTypes.Boolean, []any{false, true}},
		`row["vars"] + vars.n`:    {nil, []any{"v1x", "v2x"}},
		"params.k + qty":          {nil, []any{int64(12), int64(13)}},
	} {
		e, err := compileRow(src, schema, roots)
		require.NoError(t, err, src)
		require.Equal(t, want.typ, e.Type(), src)
		for i, w := range want.vals {
			v, err := e.Eval(batch, i)
			require.NoError(t, err, src)
			require.Equal(t, w, v, src)
		}
	}
	_, err := compileRow("qtty + 1", schema, nil)
	require.ErrorContains(t, err, `no column or name "qtty"; did you mean "qty"?`)
	_, err = compileRow("qty +", schema, nil)
	require.ErrorContains(t, err, `expression "qty +"`)
	_, err = compileRow("anything + 1", nil, nil)
	require.NoError(t, err, "without a schema only the syntax is checked")
	_, err = compileRow("name * 2", schema, nil)
	require.ErrorContains(t, err, "mismatched types string and int", "types are checked when the columns are known")
	e, err := compileRow("int(name)", schema, nil)
	require.NoError(t, err)
	_, err = e.Eval(batch, 0)
	require.Error(t, err)
}

func TestBudget(t *testing.T) {
	t.Parallel()
	b := newBudget(100)
	ctx := context.Background()
	require.ErrorIs(t, b.Reserve(ctx, 101), ErrMemoryLimit)
	require.NoError(t, b.Reserve(ctx, 60))
	require.False(t, b.TryReserve(50))
	done := make(chan error)
	go func() { done <- b.Reserve(ctx, 50) }()
	select {
	case err := <-done:
		t.Fatalf("Reserve did not wait for the bytes (%v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.Release(60)
	require.NoError(t, <-done)
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.Reserve(short, 60), ErrMemoryLimit)
	require.Equal(t, int64(50), b.Used())
}

func TestBudgetPeak(t *testing.T) {
	t.Parallel()
	b := newBudget(1000)
	require.True(t, b.TryReserve(300))
	require.True(t, b.TryReserve(400))
	b.Release(700)
	require.True(t, b.TryReserve(100))
	require.Equal(t, int64(700), b.Peak())
}
