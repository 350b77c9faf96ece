package transform

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var sortInput = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "grp", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "pad", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// sortRows makes rows of sortInput from a seed: seq is the row's place,
// the others random with some nulls.
func sortRows(seed uint64, rows, groups int) rowFunc {
	return func(i int) ([]any, bool) {
		if i >= rows {
			return nil, false
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		row := []any{int64(i), fmt.Sprintf("g%03d", r.IntN(groups)), int64(r.IntN(50) - 25), r.Float64() * 100, strings.Repeat("p", 20+r.IntN(20))}
		if r.IntN(10) == 0 {
			row[1] = nil
		}
		if r.IntN(7) == 0 {
			row[2] = nil
		}
		return row, true
	}
}

// refKey is one sort key of the Go reference sort.
type refKey struct {
	col              int
	desc, nullsFirst bool
}

// refCompare orders two rows (as Go values) by keys, as sort must.
func refCompare(keys []refKey, a, b []any) int {
	for _, k := range keys {
		x, y := a[k.col], b[k.col]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil || y == nil:
			if (x == nil) == k.nullsFirst {
				return -1
			}
			return 1
		}
		var c int
		switch xv := x.(type) {
		case int64:
			c = cmp.Compare(xv, y.(int64))
		case float64:
			c = cmp.Compare(xv, y.(float64))
		case string:
			c = cmp.Compare(xv, y.(string))
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// generated are the rows gen makes.
func generated(gen rowFunc) [][]any {
	var out [][]any
	for i := 0; ; i++ {
		row, ok := gen(i)
		if !ok {
			return out
		}
		out = append(out, row)
	}
}

func sortKeysSetting(keys []refKey) []any {
	var l []any
	for _, k := range keys {
		m := map[string]any{"column": sortInput.Field(k.col).Name}
		if k.desc {
			m["order"] = "desc"
		}
		if k.nullsFirst {
			m["nulls"] = "first"
		} else {
			m["nulls"] = "last"
		}
		l = append(l, m)
	}
	return l
}

func assertRowsEqual(t *testing.T, got, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("row %d is %v, want %v", i, got[i], want[i])
		}
	}
}

// dirEntries lists what is left in the scratch directory.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSortInMemory(t *testing.T) {
	keys := []refKey{{col: 1, nullsFirst: true}, {col: 2, desc: true}, {col: 3}}
	gen := sortRows(1, 3000, 12)
	b := newBench(t)
	b.source("gen", genSource{schema: sortInput, gen: gen})
	_, err := b.run(t.Context(), graph(256, nil,
		comp("read", "gen", "", nil),
		comp("sorted", "sort", "read", map[string]any{"columns": sortKeysSetting(keys)}),
		comp("got", "collect", "sorted", nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := generated(gen)
	slices.SortStableFunc(want, func(a, b []any) int { return refCompare(keys, a, b) })
	assertRowsEqual(t, b.out.get("got"), want)
	if strings.Contains(b.logText(), "spills") {
		t.Error("a sort well under memory_limit spilled")
	}
}

// TestSortSpills sorts an input many times memory_limit: the rows come
// out in order, all of them, through runs on disk that are gone after.
func TestSortSpills(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rows   int
		limit  string
		dedupe bool
		keys   []refKey
	}{
		{name: "stable", rows: 60_000, limit: "128KiB", keys: []refKey{{col: 1}, {col: 2, desc: true, nullsFirst: true}}},
		{name: "many runs", rows: 50_000, limit: "16KiB", keys: []refKey{{col: 3, desc: true}}},
		{name: "remove duplicates", rows: 40_000, limit: "64KiB", dedupe: true, keys: []refKey{{col: 2}, {col: 1, nullsFirst: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gen := sortRows(7, tc.rows, 40)
			b := newBench(t)
			b.source("gen", genSource{schema: sortInput, gen: gen})
			_, err := b.run(t.Context(), graph(500, tc.limit,
				comp("read", "gen", "", nil),
				comp("sorted", "sort", "read", map[string]any{"columns": sortKeysSetting(tc.keys), "remove_duplicates": tc.dedupe}),
				comp("got", "collect", "sorted", nil)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.logText(), "sort spills to the scratch directory") {
				t.Errorf("the sort did not spill with memory_limit %s; log:\n%s", tc.limit, b.logText())
			}
			want := generated(gen)
			slices.SortStableFunc(want, func(x, y []any) int { return refCompare(tc.keys, x, y) })
			if tc.dedupe {
				want = slices.CompactFunc(want, func(x, y []any) bool { return refCompare(tc.keys, x, y) == 0 })
			}
			assertRowsEqual(t, b.out.get("got"), want)
			if left := dirEntries(t, b.dir); len(left) > 0 {
				t.Errorf("the scratch directory still holds %v", left)
			}
		})
	}
}

// TestSortStop stops a flow while the sort holds and spills its input:
// the run ends promptly with the context's error, every batch released
// and the runs removed.
func TestSortStop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := newBench(t)
	endless := func(i int) ([]any, bool) { return sortRows(3, i+1, 10)(i) }
	spilled := false
	b.source("gen", genSource{schema: sortInput, gen: endless, sent: func(rows int) {
		if !spilled && len(dirEntries(t, b.dir)) > 0 {
			spilled = true
			if es, _ := os.ReadDir(b.dir + "/" + dirEntries(t, b.dir)[0]); len(es) >= 3 {
				cancel()
			} else {
				spilled = false
			}
		}
	}})
	start := time.Now()
	_, err := b.run(ctx, graph(500, "64KiB",
		comp("read", "gen", "", nil),
		comp("sorted", "sort", "read", map[string]any{"columns": []any{map[string]any{"column": "x"}}}),
		comp("got", "collect", "sorted", nil)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want it stopped (context canceled)", err)
	}
	if !spilled {
		t.Fatal("the flow stopped before the sort spilled")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stopping took %s", d)
	}
	if got := b.out.get("got"); len(got) > 0 {
		t.Errorf("a stopped sort sent %d rows", len(got))
	}
	if left := dirEntries(t, b.dir); len(left) > 0 {
		t.Errorf("the scratch directory still holds %v", left)
	}
}

// BenchmarkSortSpill sorts 200000 rows with memory_limit a tenth of
// them.
func BenchmarkSortSpill(b *testing.B) {
	for b.Loop() {
		bt := newBench(b)
		bt.source("gen", genSource{schema: sortInput, gen: sortRows(5, 200_000, 100)})
		if _, err := bt.run(b.Context(), graph(10_000, "2MiB",
			comp("read", "gen", "", nil),
			comp("sorted", "sort", "read", map[string]any{"columns": []any{map[string]any{"column": "x"}}}),
			comp("got", "collect", "sorted", nil))); err != nil {
			b.Fatal(err)
		}
	}
}
