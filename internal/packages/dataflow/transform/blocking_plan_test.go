package transform

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

var ordersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

// checkPlan plans typ at validation time over one input of schema.
func checkPlan(t *testing.T, typ dataflow.Type, schema *arrow.Schema, settings map[string]any) (*dataflow.Plan, error) {
	t.Helper()
	pc := &dataflow.PlanContext{
		Name: "comp", Type: "t",
		Settings: dataflow.NewSettings(settings, true),
		Inputs:   []dataflow.PlanInput{{Path: "read.out", Schema: schema}},
		OnError:  dataflow.OnErrorFail,
	}
	return typ.Plan(pc)
}

func wantPlanError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Plan succeeded, want an error with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestSortPlan(t *testing.T) {
	plan, err := checkPlan(t, Sort{}, ordersSchema, map[string]any{
		"columns":           []any{map[string]any{"column": "region"}, map[string]any{"column": "amount", "order": "desc", "nulls": "first"}},
		"remove_duplicates": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Outputs) != 1 || !plan.Outputs[0].Schema.Equal(ordersSchema) {
		t.Errorf("outputs %v, want one with the input's schema", plan.Outputs)
	}
	_, err = checkPlan(t, Sort{}, ordersSchema, map[string]any{
		"columns": []any{map[string]any{"column": "regoin"}, map[string]any{"column": "id", "order": "down"}},
	})
	wantPlanError(t, err, `settings.columns[0].column: the input has no column "regoin"; did you mean "region"?`,
		`settings.columns[1].order "down": want one of asc, desc`)
	_, err = checkPlan(t, Sort{}, ordersSchema, map[string]any{"colums": []any{"id"}})
	wantPlanError(t, err, "settings.columns: required", `settings.colums: unknown setting: did you mean "columns"?`)
	// While checking with the input unknown, only the settings are read.
	plan, err = checkPlan(t, Sort{}, nil, map[string]any{"columns": []any{map[string]any{"column": "whatever"}}})
	if err != nil || plan.Outputs[0].Schema != nil {
		t.Errorf("Plan over an unknown input = %v, %v; want a nil schema and no error", plan, err)
	}
}

func TestAggregatePlan(t *testing.T) {
	plan, err := checkPlan(t, Aggregate{}, ordersSchema, map[string]any{
		"group_by": []any{"region"},
		"aggregations": []any{
			map[string]any{"function": "count"},
			map[string]any{"function": "count", "column": "amount", "as": "priced"},
			map[string]any{"function": "count_distinct", "column": "customer_id", "as": "customers"},
			map[string]any{"function": "sum", "column": "qty"},
			map[string]any{"function": "sum", "column": "amount", "as": "total"},
			map[string]any{"function": "avg", "column": "qty"},
			map[string]any{"function": "min", "column": "day"},
			map[string]any{"function": "max", "column": "region", "as": "last_region"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := plan.Outputs[0].Schema
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{"region", arrow.BinaryTypes.String}, {"count", arrow.PrimitiveTypes.Int64}, {"priced", arrow.PrimitiveTypes.Int64},
		{"customers", arrow.PrimitiveTypes.Int64}, {"sum_qty", arrow.PrimitiveTypes.Int64}, {"total", arrow.PrimitiveTypes.Float64},
		{"avg_qty", arrow.PrimitiveTypes.Float64}, {"min_day", arrow.FixedWidthTypes.Date32}, {"last_region", arrow.BinaryTypes.String},
	}
	if got.NumFields() != len(want) {
		t.Fatalf("output %v, want %d columns", got, len(want))
	}
	for i, w := range want {
		if f := got.Field(i); f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) {
			t.Errorf("column %d is %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
	_, err = checkPlan(t, Aggregate{}, ordersSchema, map[string]any{
		"group_by": []any{"region", "regon"},
		"aggregations": []any{
			map[string]any{"function": "summ", "column": "qty"},
			map[string]any{"function": "sum", "column": "region"},
			map[string]any{"function": "avg"},
			map[string]any{"function": "count", "as": "region"},
		},
	})
	wantPlanError(t, err,
		`settings.group_by: the input has no column "regon"; did you mean "region"?`,
		`settings.aggregations[0].function: unknown aggregation "summ"`, `did you mean "sum"?`,
		`settings.aggregations[1].column: sum needs a number column, and "region" is string`,
		`settings.aggregations[2].column: required`,
		`settings.aggregations[3].as: output column "region" is made by group_by[0] already`)
}

func TestLookupPlan(t *testing.T) {
	settings := map[string]any{
		"file":     "customers.csv",
		"columns":  []any{map[string]any{"name": "id", "type": "int64"}, map[string]any{"name": "name", "type": "string"}},
		"join":     []any{map[string]any{"input": "customer_id", "reference": "id"}},
		"return":   []any{map[string]any{"column": "name", "as": "customer"}},
		"no_match": "redirect",
	}
	plan, err := checkPlan(t, Lookup{}, ordersSchema, settings)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Outputs) != 2 || plan.Outputs[0].Name != MatchOutput || plan.Outputs[1].Name != NoMatchOutput {
		t.Fatalf("outputs %v, want match and no_match", plan.Outputs)
	}
	match := plan.Outputs[0].Schema
	if match.NumFields() != ordersSchema.NumFields()+1 || match.Field(match.NumFields()-1).Name != "customer" {
		t.Errorf("match schema %v, want the input's columns then customer", match)
	}
	if !plan.Outputs[1].Schema.Equal(ordersSchema) {
		t.Errorf("no_match schema %v, want the input's", plan.Outputs[1].Schema)
	}

	_, err = checkPlan(t, Lookup{}, ordersSchema, map[string]any{
		"file":     "customers.csv",
		"columns":  []any{map[string]any{"name": "id", "type": "string"}, map[string]any{"name": "name", "type": "string"}},
		"join":     []any{map[string]any{"input": "customer_id", "reference": "id"}},
		"return":   []any{map[string]any{"column": "nam"}, map[string]any{"column": "name", "as": "region"}},
		"no_match": "skip",
	})
	wantPlanError(t, err,
		`settings.join[0]: input column "customer_id" is int32 and reference column "id" is string`,
		`settings.return[0].column: the reference has no column "nam"; did you mean "name"?`,
		`settings.return[1]: the output has a column "region" already`,
		`settings.no_match "skip": want one of fail, ignore, redirect`)

	_, err = checkPlan(t, Lookup{}, ordersSchema, map[string]any{"join": []any{map[string]any{"input": "id", "reference": "id"}}})
	wantPlanError(t, err, "settings: give the reference data")
	_, err = checkPlan(t, Lookup{}, ordersSchema, map[string]any{"file": "c.csv", "join": []any{map[string]any{"input": "id", "reference": "id"}}})
	wantPlanError(t, err, "settings.columns: required")
	// A query whose columns are not declared is typed at run time only.
	plan, err = checkPlan(t, Lookup{}, ordersSchema, map[string]any{
		"connection": "warehouse", "query": "SELECT id, name FROM customers",
		"join": []any{map[string]any{"input": "customer_id", "reference": "id"}},
	})
	if err != nil || plan.Outputs[0].Schema != nil {
		t.Errorf("Plan of an undeclared query = %v, %v; want an unknown match schema", plan, err)
	}
}

func TestSQLArrowType(t *testing.T) {
	for name, want := range map[string]arrow.DataType{
		"INT8": arrow.PrimitiveTypes.Int64, "INT4": arrow.PrimitiveTypes.Int64, "BIGINT": arrow.PrimitiveTypes.Int64,
		"UNSIGNED INT": arrow.PrimitiveTypes.Int64, "TEXT": arrow.BinaryTypes.String, "VARCHAR": arrow.BinaryTypes.String,
		"NUMERIC": arrow.PrimitiveTypes.Float64, "FLOAT8": arrow.PrimitiveTypes.Float64, "DECIMAL": arrow.PrimitiveTypes.Float64,
		"BOOL": arrow.FixedWidthTypes.Boolean, "DATE": arrow.FixedWidthTypes.Date32, "TIMESTAMPTZ": arrow.FixedWidthTypes.Timestamp_us,
		"DATETIME2": arrow.FixedWidthTypes.Timestamp_us, "BYTEA": arrow.BinaryTypes.Binary, "INTERVAL": arrow.BinaryTypes.String,
	} {
		if got := sqlArrowType(name); !arrow.TypeEqual(got, want) {
			t.Errorf("sqlArrowType(%q) = %s, want %s", name, got, want)
		}
	}
}
