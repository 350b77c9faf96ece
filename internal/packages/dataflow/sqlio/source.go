package sqlio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Source is sql_source: the rows of a query on a database connection.
//
//	settings:
//	  connection: warehouse     # a postgres, mysql or sqlserver connection
//	  query: SELECT id, amount FROM sales WHERE day = $1
//	  params: ["${params.day}"] # bound to the query's placeholders, in order
//	  columns:                  # optional: the result's columns and types;
//	    - {name: id, type: int64}   # else the server's types (see below)
//
// Without declared columns the schema comes from the result's column types:
// integers, floats, bools, dates, timestamps and binary as themselves,
// numeric/decimal and everything else as strings. The server is asked for
// it before the flow starts, with the query wrapped so that it returns no
// row. Rows stream from the server in batches of batch_rows; a value that
// does not convert to its declared column's type goes through on_error
// (on the error path the row's values are strings).
type Source struct{}

// Info implements dataflow.Type.
func (Source) Info() dataflow.Info {
	return dataflow.Info{Doc: "reads the rows of a SQL query on a database connection"}
}

type sourceConfig struct {
	conn   string
	query  string
	params []any
}

// Plan implements dataflow.Type.
func (Source) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var cfg sourceConfig
	cfg.conn, _ = s.RequiredString("connection", "warehouse")
	cfg.query, _ = s.RequiredString("query", "SELECT id, name FROM customers")
	cfg.params, _ = s.List("params")
	var schema *arrow.Schema
	if s.Has("columns") {
		cols, _, ok := s.Columns("columns")
		if ok && len(cols) == 0 {
			s.Errorf("columns", "the list is empty: declare the result's columns, or leave columns out to take the server's types")
		}
		if ok {
			schema = dataflow.Schema(cols)
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	out := func(schema *arrow.Schema, r dataflow.Runner) *dataflow.Plan {
		p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: schema}},
			ErrorColumns: stringSchema(schema)}
		if r != nil {
			p.Runner = r
		}
		return p
	}
	if pc.Checking() {
		return out(schema, nil), nil
	}
	d, db, err := database(pc.Context(), pc.Connections(), cfg.conn)
	if err != nil {
		return nil, err
	}
	if schema == nil {
		if schema, err = describe(pc.Context(), d, db, cfg); err != nil {
			return nil, err
		}
	}
	return out(schema, &sourceRunner{cfg: cfg, db: db, schema: schema}), nil
}

// describe asks the server for the query's columns, running it wrapped
// so that it returns no row.
func describe(ctx context.Context, d dialect, db *sql.DB, cfg sourceConfig) (*arrow.Schema, error) {
	q := strings.TrimRight(strings.TrimSpace(cfg.query), ";")
	rows, err := db.QueryContext(ctx, "SELECT * FROM ("+q+") AS scaleout_describe WHERE 1=0", cfg.params...)
	if err != nil {
		// Not every statement may be wrapped (SQL Server's ORDER BY
		// without TOP, a call): ask with the query itself.
		var err2 error
		rows, err2 = db.QueryContext(ctx, cfg.query, cfg.params...)
		if err2 != nil {
			return nil, fmt.Errorf("settings.query: %w", err2)
		}
	}
	defer func() { _ = rows.Close() }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("settings.query: reading the result's columns: %w", err)
	}
	if len(types) == 0 {
		return nil, errors.New("settings.query: the statement returns no columns: a source needs a query that returns rows")
	}
	fields := make([]arrow.Field, len(types))
	seen := map[string]bool{}
	for i, ct := range types {
		name := ct.Name()
		if name == "" || seen[name] {
			return nil, fmt.Errorf("settings.query: result column %d is named %q, which is empty or taken: "+
				"give every column its own name (AS name)", i+1, name)
		}
		seen[name] = true
		fields[i] = arrow.Field{Name: name, Type: arrowType(d.kind, ct.DatabaseTypeName()), Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// stringSchema is dataflow.TextSchema, nil for an unknown schema: the
// columns of rejected rows, as text.
func stringSchema(s *arrow.Schema) *arrow.Schema {
	if s == nil {
		return nil
	}
	return dataflow.TextSchema(s)
}

type sourceRunner struct {
	cfg    sourceConfig
	db     *sql.DB
	schema *arrow.Schema
}

// Run implements dataflow.Runner.
func (r *sourceRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	rows, err := r.db.QueryContext(ctx, r.cfg.query, r.cfg.params...)
	if err != nil {
		return fmt.Errorf("running the query: %w", err)
	}
	defer func() { _ = rows.Close() }()
	names, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("running the query: %w", err)
	}
	if len(names) != r.schema.NumFields() {
		return fmt.Errorf("the query returns %d columns (%s), the component has %d (%s): declare the columns the query returns",
			len(names), strings.Join(names, ", "), r.schema.NumFields(), schemaNames(r.schema))
	}
	sc := newScanner(r.schema)
	rb := array.NewRecordBuilder(rt.Allocator(), r.schema)
	defer rb.Release()
	per := max(rt.BatchRows(), 1)
	rb.Reserve(per)
	n, row := 0, 0
	for rows.Next() {
		row++
		if err := rows.Scan(sc.dest...); err != nil {
			if err := r.reject(ctx, rt, rows, row, err); err != nil {
				return err
			}
			continue
		}
		if err := sc.check(); err != nil {
			if err := r.reject(ctx, rt, rows, row, err); err != nil {
				return err
			}
			continue
		}
		sc.append(rb)
		if n++; n >= per {
			if err := out.Send(ctx, rb.NewRecordBatch()); err != nil {
				return err
			}
			rb.Reserve(per)
			n = 0
		}
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading the query's rows: %w", err)
	}
	if n > 0 {
		return out.Send(ctx, rb.NewRecordBatch())
	}
	return nil
}

// reject sends the current row, as strings, to on_error.
func (r *sourceRunner) reject(ctx context.Context, rt dataflow.Runtime, rows *sql.Rows, row int, cause error) error {
	n := r.schema.NumFields()
	raw := make([]sql.NullString, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	vals := make([]any, n)
	if rows.Scan(dest...) == nil {
		for i, v := range raw {
			if v.Valid {
				vals[i] = v.String
			}
		}
	}
	return rt.Reject(ctx, vals, fmt.Sprintf("row %d: %v", row, cause))
}

func schemaNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// scanner scans a row into typed holders, one per column, reused from row
// to row, and appends them to a batch.
type scanner struct {
	schema *arrow.Schema
	dest   []any
	puts   []func(b array.Builder)
	checks []func() error
}

func newScanner(schema *arrow.Schema) *scanner {
	sc := &scanner{schema: schema}
	for _, f := range schema.Fields() {
		name := f.Name
		switch f.Type.ID() {
		case arrow.INT64, arrow.INT32, arrow.INT16:
			v := new(sql.NullInt64)
			lo, hi := intRange(f.Type)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, func() error {
				if v.Valid && (v.Int64 < lo || v.Int64 > hi) {
					return fmt.Errorf("column %q: %d is out of the range of %s", name, v.Int64, dataflow.TypeName(f.Type))
				}
				return nil
			})
			sc.puts = append(sc.puts, func(b array.Builder) {
				switch {
				case !v.Valid:
					b.AppendNull()
				case f.Type.ID() == arrow.INT64:
					b.(*array.Int64Builder).Append(v.Int64)
				case f.Type.ID() == arrow.INT32:
					b.(*array.Int32Builder).Append(int32(v.Int64))
				default:
					b.(*array.Int16Builder).Append(int16(v.Int64))
				}
			})
		case arrow.FLOAT64, arrow.FLOAT32:
			v := new(sql.NullFloat64)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, nil)
			sc.puts = append(sc.puts, func(b array.Builder) {
				switch {
				case !v.Valid:
					b.AppendNull()
				case f.Type.ID() == arrow.FLOAT64:
					b.(*array.Float64Builder).Append(v.Float64)
				default:
					b.(*array.Float32Builder).Append(float32(v.Float64))
				}
			})
		case arrow.BOOL:
			v := new(sql.NullBool)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, nil)
			sc.puts = append(sc.puts, func(b array.Builder) {
				if !v.Valid {
					b.AppendNull()
					return
				}
				b.(*array.BooleanBuilder).Append(v.Bool)
			})
		case arrow.DATE32, arrow.TIMESTAMP:
			v := new(nullTime)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, nil)
			sc.puts = append(sc.puts, func(b array.Builder) {
				if !v.Valid {
					b.AppendNull()
					return
				}
				if tb, ok := b.(*array.TimestampBuilder); ok {
					ts, _ := arrow.TimestampFromTime(v.Time, tb.Type().(*arrow.TimestampType).Unit)
					tb.Append(ts)
					return
				}
				b.(*array.Date32Builder).Append(arrow.Date32FromTime(v.Time))
			})
		case arrow.BINARY:
			v := new(sql.RawBytes)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, nil)
			sc.puts = append(sc.puts, func(b array.Builder) {
				if *v == nil {
					b.AppendNull()
					return
				}
				b.(*array.BinaryBuilder).Append(*v)
			})
		default: // strings, and any type a declared column may name
			v := new(sql.RawBytes)
			sc.dest = append(sc.dest, v)
			sc.checks = append(sc.checks, nil)
			sc.puts = append(sc.puts, func(b array.Builder) {
				if *v == nil {
					b.AppendNull()
					return
				}
				if sb, ok := b.(*array.StringBuilder); ok {
					sb.BinaryBuilder.Append(*v)
					return
				}
				_ = b.AppendValueFromString(string(*v))
			})
		}
	}
	return sc
}

func intRange(t arrow.DataType) (int64, int64) {
	switch t.ID() {
	case arrow.INT32:
		return -1 << 31, 1<<31 - 1
	case arrow.INT16:
		return -1 << 15, 1<<15 - 1
	}
	return -1 << 63, 1<<63 - 1
}

// check reports a value out of its column's range.
func (sc *scanner) check() error {
	for _, c := range sc.checks {
		if c != nil {
			if err := c(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sc *scanner) append(rb *array.RecordBuilder) {
	for i, put := range sc.puts {
		put(rb.Field(i))
	}
}

// nullTime scans a time, and also a date or timestamp a driver gives as
// text (MySQL without parseTime).
type nullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.Valid = false
		return nil
	case time.Time:
		n.Time, n.Valid = x.UTC(), true
		return nil
	case []byte:
		return n.parse(string(x))
	case string:
		return n.parse(x)
	}
	return fmt.Errorf("%v (%T) is not a date or time", v, v)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"}

func (n *nullTime) parse(s string) error {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			n.Time, n.Valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("%q is not a date or time", s)
}
