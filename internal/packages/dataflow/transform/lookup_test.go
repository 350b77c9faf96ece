package transform

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

var lookupInput = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// lookupOrders are orders of customers 0 to 14 (every 13th without
// one); the reference knows customers 1 to 10.
func lookupOrders(rows int) rowFunc {
	return func(i int) ([]any, bool) {
		row := []any{int64(i), int64(i % 15), float64(i) / 4}
		if i%13 == 0 {
			row[1] = nil
		}
		return row, i < rows
	}
}

type customer struct{ name, region string }

// lookupCustomers is the reference: customers 1 to 10.
func lookupCustomers() map[int64]customer {
	m := map[int64]customer{}
	for id := int64(1); id <= 10; id++ {
		m[id] = customer{name: fmt.Sprintf("customer %d", id), region: []string{"north", "south", "east"}[id%3]}
	}
	return m
}

// expectLookup splits the orders as a lookup returning name and region
// must: matched rows with their customer's name and region (or nulls with
// fillNulls), unmatched ones as they are.
func expectLookup(orders [][]any, fillNulls bool) (match, noMatch [][]any) {
	ref := lookupCustomers()
	for _, o := range orders {
		c, ok := customer{}, false
		if o[1] != nil {
			c, ok = ref[o[1].(int64)]
		}
		switch {
		case ok:
			match = append(match, append(slices.Clone(o), c.name, c.region))
		case fillNulls:
			match = append(match, append(slices.Clone(o), nil, nil))
		default:
			noMatch = append(noMatch, o)
		}
	}
	return match, noMatch
}

var returnNameRegion = []any{map[string]any{"column": "name", "as": "customer"}, map[string]any{"column": "region"}}

func lookupJoin() []any { return []any{map[string]any{"input": "customer_id", "reference": "id"}} }

// lookupCases runs the no_match behaviours against one reference.
func lookupCases(t *testing.T, newB func(t *testing.T) *bench, reference map[string]any) {
	orders := lookupOrders(2000)
	settings := func(noMatch string) map[string]any {
		s := map[string]any{"join": lookupJoin(), "return": returnNameRegion, "no_match": noMatch}
		for k, v := range reference {
			s[k] = v
		}
		return s
	}
	t.Run("redirect", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: orders})
		out, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", settings("redirect")),
			comp("matched", "collect", "look.match", nil),
			comp("unmatched", "collect", "look.no_match", nil)))
		if err != nil {
			t.Fatal(err)
		}
		wantMatch, wantNo := expectLookup(generated(orders), false)
		assertRowsEqual(t, b.out.get("matched"), wantMatch)
		assertRowsEqual(t, b.out.get("unmatched"), wantNo)
		if got := strings.Join(columnNames(b.out.schemas["matched"]), ","); got != "id,customer_id,amount,customer,region" {
			t.Errorf("match columns %s", got)
		}
		paths, _ := out["paths"].(map[string]any)
		if fmt.Sprint(paths["look.no_match"]) != fmt.Sprint(len(wantNo)) {
			t.Errorf("paths %v: want look.no_match %d", paths, len(wantNo))
		}
	})
	t.Run("ignore", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: orders})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", settings("ignore")),
			comp("matched", "collect", "look.match", nil),
			comp("unmatched", "collect", "look.no_match", nil)))
		if err != nil {
			t.Fatal(err)
		}
		wantMatch, _ := expectLookup(generated(orders), true)
		assertRowsEqual(t, b.out.get("matched"), wantMatch)
		if n := len(b.out.get("unmatched")); n > 0 {
			t.Errorf("ignore sent %d rows to no_match", n)
		}
	})
	t.Run("fail to the error output", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: orders})
		look := comp("look", "lookup", "read", settings("fail"))
		look["on_error"] = "redirect"
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil), look,
			comp("matched", "collect", "look.match", nil),
			comp("bad", "collect", "look.error", nil)))
		if err != nil {
			t.Fatal(err)
		}
		wantMatch, wantNo := expectLookup(generated(orders), false)
		assertRowsEqual(t, b.out.get("matched"), wantMatch)
		bad := b.out.get("bad")
		if len(bad) != len(wantNo) {
			t.Fatalf("%d rows on the error output, want %d", len(bad), len(wantNo))
		}
		for i, row := range bad {
			want := "customer_id=null"
			if wantNo[i][1] != nil {
				want = fmt.Sprintf("customer_id=%d", wantNo[i][1])
			}
			if !slices.Equal(row[:3], wantNo[i]) || row[3] != "look" || !strings.Contains(fmt.Sprint(row[4]), "no reference row matches "+want) {
				t.Fatalf("error row %d is %v, want %v, look and a reason naming %s", i, row, wantNo[i], want)
			}
		}
	})
	t.Run("fail", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: orders})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", settings("fail")),
			comp("matched", "collect", "look.match", nil)))
		if err == nil || !strings.Contains(err.Error(), `"look"`) || !strings.Contains(err.Error(), "no reference row matches customer_id=null") {
			t.Fatalf("Run = %v, want the first unmatched row's failure", err)
		}
	})
}

func TestLookupPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	admin := db.Open(t)
	_, err := admin.ExecContext(t.Context(), `CREATE TABLE customers (id integer PRIMARY KEY, name text, region varchar(10), since date)`)
	if err != nil {
		t.Fatal(err)
	}
	for id, c := range lookupCustomers() {
		if _, err := admin.ExecContext(t.Context(), `INSERT INTO customers VALUES ($1, $2, $3, '2025-01-01')`, id, c.name, c.region); err != nil {
			t.Fatal(err)
		}
	}
	set, err := connection.NewSet([]connection.Connection{{Name: "warehouse", Kind: connection.Postgres,
		Host: db.Host, Port: db.Port, Database: db.Name, User: db.User, Password: connection.Secret(db.Password),
		Options: map[string]string{"sslmode": "disable"}}}, connection.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = set.Close() })
	newB := func(t *testing.T) *bench {
		b := newBench(t)
		b.conns = set
		return b
	}
	// The query's columns are typed from the server (id is an int4 joined
	// to an int64 column).
	lookupCases(t, newB, map[string]any{"connection": "warehouse", "query": "SELECT id, name, region, since FROM customers;"})
	lookupSince(t, newB)

	t.Run("declared columns", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(100)})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", map[string]any{
				"connection": "warehouse", "query": "SELECT * FROM customers",
				"columns": []any{map[string]any{"name": "id", "type": "int64"}, map[string]any{"name": "nmae", "type": "string"}},
				"join":    lookupJoin(), "return": []any{map[string]any{"column": "nmae"}},
			}),
			comp("matched", "collect", "look.match", nil)))
		if err == nil || !strings.Contains(err.Error(), `the query returns no column "nmae"; did you mean "name"?`) {
			t.Fatalf("Run = %v, want the missing column named", err)
		}
	})
	t.Run("duplicate keys", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(100)})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", map[string]any{
				"connection": "warehouse", "query": "SELECT id, name FROM customers UNION ALL SELECT id, 'later' FROM customers ORDER BY 2",
				"join": lookupJoin(), "return": []any{map[string]any{"column": "name"}}, "no_match": "redirect",
			}),
			comp("matched", "collect", "look.match", nil)))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range b.out.get("matched") {
			if row[3] != fmt.Sprintf("customer %d", row[1]) {
				t.Fatalf("row %v: want the first reference row's name", row)
			}
		}
		if len(b.warned) != 1 || !strings.Contains(b.warned[0], "10 reference rows have a key an earlier row has") {
			t.Errorf("warnings %q, want one about 10 duplicate keys", b.warned)
		}
	})
}

// TestLookupMariaDB types a MariaDB query's columns (INT, VARCHAR, DATE)
// and runs the no_match behaviours against it.
func TestLookupMariaDB(t *testing.T) {
	db := dbtest.MariaDB(t)
	admin := db.Open(t)
	_, err := admin.ExecContext(t.Context(), "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40), region VARCHAR(10), since DATE)")
	if err != nil {
		t.Fatal(err)
	}
	for id, c := range lookupCustomers() {
		if _, err := admin.ExecContext(t.Context(), "INSERT INTO customers VALUES (?, ?, ?, '2025-01-01')", id, c.name, c.region); err != nil {
			t.Fatal(err)
		}
	}
	set, err := connection.NewSet([]connection.Connection{{Name: "warehouse", Kind: connection.MySQL,
		Host: db.Host, Port: db.Port, Database: db.Name, User: db.User, Password: connection.Secret(db.Password)}}, connection.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = set.Close() })
	newB := func(t *testing.T) *bench {
		b := newBench(t)
		b.conns = set
		return b
	}
	lookupCases(t, newB, map[string]any{"connection": "warehouse", "query": "SELECT id, name, region, since FROM customers"})
	lookupSince(t, newB)
}

// lookupSince returns the customers' since (a DATE column typed from
// the server) and checks every match has it.
func lookupSince(t *testing.T, newB func(t *testing.T) *bench) {
	t.Run("date column", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(60)})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", map[string]any{
				"connection": "warehouse", "query": "SELECT id, since FROM customers",
				"join": lookupJoin(), "return": []any{map[string]any{"column": "since"}}, "no_match": "redirect",
			}),
			comp("matched", "collect", "look.match", nil)))
		if err != nil {
			t.Fatal(err)
		}
		if f := b.out.schemas["matched"].Field(3); f.Type.ID() != arrow.DATE32 {
			t.Errorf("since is typed %s, want a date", f.Type)
		}
		want := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		rows := b.out.get("matched")
		if len(rows) == 0 {
			t.Fatal("no row matched")
		}
		for _, row := range rows {
			if got, ok := row[3].(time.Time); !ok || !got.Equal(want) {
				t.Fatalf("row %v: since is %v, want %s", row, row[3], want)
			}
		}
	})
}

// writeReference writes the customers as CSV and JSON Lines files.
func writeReference(t *testing.T, dir string) {
	t.Helper()
	var csv, jsonl strings.Builder
	csv.WriteString("region,id,name\n")
	for id := int64(1); id <= 10; id++ {
		c := lookupCustomers()[id]
		fmt.Fprintf(&csv, "%s,%d,%q\n", c.region, id, c.name)
		fmt.Fprintf(&jsonl, `{"id": %d, "name": %q, "region": %q, "extra": [1]}`+"\n", id, c.name, c.region)
	}
	csv.WriteString(",,\n") // a row without a key never matches
	for name, text := range map[string]string{"customers.csv": csv.String(), "ref/customers.jsonl": jsonl.String()} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var referenceColumns = []any{
	map[string]any{"name": "id", "type": "int64"},
	map[string]any{"name": "name", "type": "string"},
	map[string]any{"name": "region", "type": "string"},
}

func TestLookupFile(t *testing.T) {
	newB := func(t *testing.T) *bench {
		b := newBench(t)
		writeReference(t, b.dir)
		return b
	}
	t.Run("csv", func(t *testing.T) {
		lookupCases(t, newB, map[string]any{"file": "customers.csv", "columns": referenceColumns})
	})
	t.Run("jsonl", func(t *testing.T) {
		lookupCases(t, newB, map[string]any{"file": "ref/*.jsonl", "format": "jsonl", "columns": referenceColumns})
	})
	t.Run("missing file", func(t *testing.T) {
		b := newB(t)
		b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(10)})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", map[string]any{"file": "customer.csv", "columns": referenceColumns, "join": lookupJoin()}),
			comp("matched", "collect", "look.match", nil)))
		if err == nil || !strings.Contains(err.Error(), `settings.file: file "customer.csv" does not exist`) {
			t.Fatalf("Run = %v, want the missing file named", err)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		b := newB(t)
		if err := os.WriteFile(filepath.Join(b.dir, "bad.csv"), []byte("id,name,region\n1,a,b\nx2,c,d\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(10)})
		_, err := b.run(t.Context(), graph(128, nil,
			comp("read", "gen", "", nil),
			comp("look", "lookup", "read", map[string]any{"file": "bad.csv", "columns": referenceColumns, "join": lookupJoin()}),
			comp("matched", "collect", "look.match", nil)))
		if err == nil || !strings.Contains(err.Error(), `reference file bad.csv, line 3, column "id": "x2" is not an integer`) {
			t.Fatalf("Run = %v, want the bad value's file, line and column", err)
		}
	})
}

// TestLookupMemoryLimit: a reference larger than memory_limit fails the
// flow, naming the limit, the bytes and the rows loaded.
func TestLookupMemoryLimit(t *testing.T) {
	b := newBench(t)
	f, err := os.Create(filepath.Join(b.dir, "big.csv"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "id,name,region")
	for i := range 50_000 {
		fmt.Fprintf(f, "%d,name of customer number %d,region %d\n", i, i, i%100)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b.source("gen", genSource{schema: lookupInput, gen: lookupOrders(10)})
	_, err = b.run(t.Context(), graph(1000, "512KiB",
		comp("read", "gen", "", nil),
		comp("look", "lookup", "read", map[string]any{"file": "big.csv", "columns": referenceColumns, "join": lookupJoin(), "return": returnNameRegion}),
		comp("matched", "collect", "look.match", nil)))
	if err == nil {
		t.Fatal("a 50000-row reference fit in 512KiB")
	}
	t.Log(err)
	for _, want := range []string{`"look"`, "holding the reference table", "memory_limit (512.0 KiB)", "reference rows loaded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
