package transform

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var salesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "store", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "customer", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

func salesRows(seed uint64, rows int) rowFunc {
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(i int) ([]any, bool) {
		if i >= rows {
			return nil, false
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		row := []any{
			[]string{"north", "south", "east", "west", "Nörd"}[r.IntN(5)],
			int64(r.IntN(4)),
			int64(r.IntN(1000) - 100),
			math.Round(r.Float64()*10000) / 100,
			fmt.Sprintf("c%d", r.IntN(300)),
			day0.AddDate(0, 0, r.IntN(365)),
		}
		for c := range row {
			if r.IntN(12) == 0 {
				row[c] = nil
			}
		}
		return row, true
	}
}

// refGroup is the Go reference's state of one group.
type refGroup struct {
	key                 []any
	count, qtyN, priceN int64
	qtySum              int64
	priceSum            float64
	customers           map[string]bool
	minDay, maxCustomer any
}

// referenceAggregate computes, the plain way, what the aggregate of
// TestAggregateRandom must give, keyed by the group's values.
func referenceAggregate(rows [][]any) map[string][]any {
	groups := map[string]*refGroup{}
	for _, r := range rows {
		k := fmt.Sprint(r[0], "|", r[1])
		g := groups[k]
		if g == nil {
			g = &refGroup{key: []any{r[0], r[1]}, customers: map[string]bool{}}
			groups[k] = g
		}
		g.count++
		if r[2] != nil {
			g.qtyN++
			g.qtySum += r[2].(int64)
		}
		if r[3] != nil {
			g.priceN++
			g.priceSum += r[3].(float64)
		}
		if r[4] != nil {
			g.customers[r[4].(string)] = true
			if g.maxCustomer == nil || r[4].(string) > g.maxCustomer.(string) {
				g.maxCustomer = r[4]
			}
		}
		if r[5] != nil && (g.minDay == nil || r[5].(time.Time).Before(g.minDay.(time.Time))) {
			g.minDay = r[5]
		}
	}
	out := map[string][]any{}
	for k, g := range groups {
		var qtySum, avgPrice any
		if g.qtyN > 0 {
			qtySum = g.qtySum
		}
		if g.priceN > 0 {
			avgPrice = g.priceSum / float64(g.priceN)
		}
		out[k] = []any{g.key[0], g.key[1], g.count, g.qtyN, int64(len(g.customers)), qtySum, avgPrice, g.minDay, g.maxCustomer}
	}
	return out
}

var randomAggregations = []any{
	map[string]any{"function": "count", "as": "rows"},
	map[string]any{"function": "count", "column": "qty"},
	map[string]any{"function": "count_distinct", "column": "customer", "as": "customers"},
	map[string]any{"function": "sum", "column": "qty"},
	map[string]any{"function": "avg", "column": "price"},
	map[string]any{"function": "min", "column": "day"},
	map[string]any{"function": "max", "column": "customer"},
}

func TestAggregateRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			gen := salesRows(seed, 20_000+int(seed)*3_000)
			b := newBench(t)
			b.source("gen", genSource{schema: salesSchema, gen: gen})
			_, err := b.run(t.Context(), graph(1000, nil,
				comp("read", "gen", "", nil),
				comp("totals", "aggregate", "read", map[string]any{"group_by": []any{"region", "store"}, "aggregations": randomAggregations}),
				comp("got", "collect", "totals", nil)))
			if err != nil {
				t.Fatal(err)
			}
			want := referenceAggregate(generated(gen))
			got := b.out.get("got")
			if len(got) != len(want) {
				t.Fatalf("%d groups, want %d", len(got), len(want))
			}
			names := columnNames(b.out.schemas["got"])
			if strings.Join(names, ",") != "region,store,rows,count_qty,customers,sum_qty,avg_price,min_day,max_customer" {
				t.Errorf("columns %v", names)
			}
			for _, row := range got {
				w, ok := want[fmt.Sprint(row[0], "|", row[1])]
				if !ok {
					t.Fatalf("group %v is not in the input", row[:2])
				}
				for c := range w {
					if !sameValue(row[c], w[c]) {
						t.Errorf("group %v: %s is %v, want %v", row[:2], names[c], row[c], w[c])
					}
				}
			}
		})
	}
}

// sameValue compares an output value with the reference's, floats
// within rounding.
func sameValue(got, want any) bool {
	if g, ok := got.(float64); ok {
		w, ok := want.(float64)
		return ok && math.Abs(g-w) <= 1e-9*math.Max(1, math.Abs(w))
	}
	if g, ok := got.(time.Time); ok {
		w, ok := want.(time.Time)
		return ok && g.Equal(w)
	}
	return got == want
}

// TestAggregateWholeInput: without group_by an empty input still gives
// its one row, as SQL does.
func TestAggregateWholeInput(t *testing.T) {
	for _, rows := range []int{0, 500} {
		gen := salesRows(9, rows)
		b := newBench(t)
		b.source("gen", genSource{schema: salesSchema, gen: gen})
		_, err := b.run(t.Context(), graph(100, nil,
			comp("read", "gen", "", nil),
			comp("totals", "aggregate", "read", map[string]any{"aggregations": []any{
				map[string]any{"function": "count"}, map[string]any{"function": "sum", "column": "qty"}, map[string]any{"function": "sum", "column": "price"},
			}}),
			comp("got", "collect", "totals", nil)))
		if err != nil {
			t.Fatal(err)
		}
		got := b.out.get("got")
		if len(got) != 1 {
			t.Fatalf("%d input rows gave %d rows, want 1", rows, len(got))
		}
		var wantQty, wantPrice any
		var sumQ int64
		var sumP float64
		for _, r := range generated(gen) {
			if r[2] != nil {
				sumQ += r[2].(int64)
				wantQty = sumQ
			}
			if r[3] != nil {
				sumP += r[3].(float64)
				wantPrice = sumP
			}
		}
		if got[0][0] != int64(rows) || !sameValue(got[0][1], wantQty) || !sameValue(got[0][2], wantPrice) {
			t.Errorf("%d rows gave %v, want [%d %v %v]", rows, got[0], rows, wantQty, wantPrice)
		}
	}
}

// TestAggregateMemoryLimit: more groups than memory_limit holds fail the
// flow with an error naming the component, the limit and the groups.
func TestAggregateMemoryLimit(t *testing.T) {
	b := newBench(t)
	b.source("gen", genSource{schema: salesSchema, gen: func(i int) ([]any, bool) {
		return []any{fmt.Sprintf("region-%08d", i), int64(i % 7), int64(i), 1.5, "c", nil}, i < 200_000
	}})
	_, err := b.run(t.Context(), graph(1000, "1MiB",
		comp("read", "gen", "", nil),
		comp("totals", "aggregate", "read", map[string]any{"group_by": []any{"region"}, "aggregations": []any{map[string]any{"function": "count"}}}),
		comp("got", "collect", "totals", nil)))
	if err == nil {
		t.Fatal("200000 groups fit in 1MiB")
	}
	t.Log(err)
	for _, want := range []string{`"totals"`, "memory_limit (1.0 MiB)", "groups"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(b.out.get("got")) > 0 {
		t.Error("a failed aggregate sent rows")
	}
}

func TestAggregateSumOverflow(t *testing.T) {
	b := newBench(t)
	b.source("gen", genSource{schema: salesSchema, gen: func(i int) ([]any, bool) {
		return []any{"r", int64(1), int64(math.MaxInt64 / 2), 1.0, "c", nil}, i < 3
	}})
	_, err := b.run(t.Context(), graph(10, nil,
		comp("read", "gen", "", nil),
		comp("totals", "aggregate", "read", map[string]any{"aggregations": []any{map[string]any{"function": "sum", "column": "qty"}}}),
		comp("got", "collect", "totals", nil)))
	if err == nil || !strings.Contains(err.Error(), `sum of column "qty": the sum overflows int64`) {
		t.Fatalf("Run = %v, want the overflow named", err)
	}
}
