package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// This file holds where a lookup's reference comes from (a query on a
// connection, or files in the scratch directory) and the table it is
// loaded into.

// referenceSource is a lookup's reference data as its settings give it.
type referenceSource struct {
	connection, query string
	files             any // the file setting: a name, a glob or a list
	format            string
	header            bool
	schema            *arrow.Schema // declared columns; nil when not given
}

// planReference reads the reference's settings: connection and query,
// or file (with format and header), and columns.
func planReference(s *dataflow.Settings) *referenceSource {
	src := &referenceSource{}
	hasQuery, hasFile := s.Has("query"), s.Has("file")
	switch {
	case hasQuery && hasFile:
		s.Errorf("file", "give the reference as a query or as a file, not both")
	case !hasQuery && !hasFile:
		s.Errorf("", "give the reference data: query (with connection), or file (CSV or JSON Lines in the scratch directory)")
	}
	cols, _, okCols := s.Columns("columns")
	if okCols && len(cols) > 0 {
		src.schema = dataflow.Schema(cols)
	}
	if hasQuery {
		src.query, _ = s.RequiredString("query", "SELECT id, name FROM customers")
		src.connection, _ = s.RequiredString("connection", "warehouse")
		for _, k := range []string{"format", "header"} {
			if s.Has(k) {
				s.Errorf(k, "applies to a file reference, not a query")
			}
		}
		return src
	}
	src.files, _ = s.Raw("file")
	if s.Has("connection") {
		s.Errorf("connection", "a file reference needs no connection: give query with it, or leave it out")
	}
	src.format = s.Enum("format", "", "csv", "jsonl")
	src.header = s.Bool("header", true)
	if hasFile && !s.Has("columns") {
		s.Missing("columns", "the file's columns and types, e.g. [{name: id, type: int64}, {name: name, type: string}]")
	}
	if name, ok := src.files.(string); ok && src.format == "" && !s.IsPlaceholder(name) {
		if src.formatOf(name) == "" {
			s.Errorf("format", "cannot tell the format of %q from its extension: say csv or jsonl", name)
		}
	}
	return src
}

// formatOf is the file's format: format when given, else from name's
// extension ("" when unknown).
func (src *referenceSource) formatOf(name string) string {
	if src.format != "" {
		return src.format
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".txt":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	return ""
}

// discover types a query's result by running it wrapped to return no
// row, for a query reference whose columns are not declared.
func (src *referenceSource) discover(ctx context.Context, conns task.Connections) (*arrow.Schema, error) {
	db, err := openReference(ctx, conns, src.connection)
	if err != nil {
		return nil, err
	}
	q := "SELECT * FROM (" + strings.TrimRight(strings.TrimSpace(src.query), "; \n\t") + ") lookup_reference WHERE 1=0"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("settings.query: typing the reference's columns: %w", err)
	}
	defer func() { _ = rows.Close() }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("settings.query: typing the reference's columns: %w", err)
	}
	fields := make([]arrow.Field, len(types))
	for i, t := range types {
		fields[i] = arrow.Field{Name: t.Name(), Type: sqlArrowType(t.DatabaseTypeName()), Nullable: true}
	}
	return arrow.NewSchema(fields, nil), rows.Err()
}

func openReference(ctx context.Context, conns task.Connections, name string) (*sql.DB, error) {
	if conns == nil {
		return nil, fmt.Errorf("settings.connection: the package declares no connections; add %q under connections", name)
	}
	db, err := conns.DB(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("settings.connection: %w", err)
	}
	return db, nil
}

// sqlArrowType maps a database's column type name (as database/sql's
// drivers for PostgreSQL, MySQL/MariaDB and SQL Server name them) to the
// Arrow type a reference column gets; unknown types are read as strings.
func sqlArrowType(name string) arrow.DataType {
	n := strings.ToUpper(name)
	n = strings.TrimPrefix(strings.TrimPrefix(n, "UNSIGNED "), "_")
	switch {
	case n == "DATE":
		return arrow.FixedWidthTypes.Date32
	case strings.Contains(n, "TIMESTAMP"), strings.Contains(n, "DATETIME"):
		return arrow.FixedWidthTypes.Timestamp_us
	case strings.Contains(n, "INT") && !strings.Contains(n, "INTERVAL") && !strings.Contains(n, "POINT"),
		n == "YEAR":
		return arrow.PrimitiveTypes.Int64
	case strings.HasPrefix(n, "FLOAT"), n == "DOUBLE", n == "REAL", n == "NUMERIC", n == "DECIMAL", n == "MONEY":
		return arrow.PrimitiveTypes.Float64
	case n == "BOOL", n == "BOOLEAN", n == "BIT":
		return arrow.FixedWidthTypes.Boolean
	case n == "BYTEA", strings.Contains(n, "BLOB"), strings.Contains(n, "BINARY"), n == "IMAGE":
		return arrow.BinaryTypes.Binary
	}
	return arrow.BinaryTypes.String
}

// refRow is where a key's reference row is: batch and row.
type refRow struct{ batch, row int32 }

// refTable is a loaded reference: its kept columns in batches, and the
// hash index of its keys.
type refTable struct {
	held       *holding
	batches    []arrow.RecordBatch
	index      map[string]refRow
	rows       int64
	duplicates int64
}

func (t *refTable) release() {
	for _, b := range t.batches {
		b.Release()
	}
	t.batches = nil
	t.held.release()
}

// rowSource gives the reference's rows one at a time, as values for the
// reference schema's columns (Go values or strings AppendValue converts).
type rowSource interface {
	next() ([]any, error) // io.EOF at the end
	where() string        // the current row, for messages
	close() error
}

// load reads the whole reference into tbl.
func (r *lookupRunner) load(ctx context.Context, rt dataflow.Runtime, tbl *refTable) (err error) {
	src, err := r.open(ctx, rt)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := src.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	b := array.NewRecordBuilder(rt.Allocator(), r.kept)
	defer b.Release()
	limit := max(rt.BatchRows(), 1)
	pending := 0
	detail := func() string { return fmt.Sprintf("%d reference rows loaded", tbl.rows) }
	for {
		if tbl.rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		vals, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var size int64 = 48
		for n, c := range r.refCols {
			v := vals[c]
			if bs, ok := v.([]byte); ok && r.kept.Field(n).Type.ID() != arrow.BINARY {
				v = string(bs)
			}
			if err := dataflow.AppendValue(b.Field(n), v); err != nil {
				return fmt.Errorf("reference %s, column %q: %w", src.where(), r.kept.Field(n).Name, err)
			}
			size += goValueBytes(v)
		}
		tbl.rows++
		pending++
		if err := tbl.held.grow(size, detail); err != nil {
			return err
		}
		if pending >= limit {
			tbl.add(b.NewRecordBatch(), len(r.joins))
			pending = 0
		}
	}
	if pending > 0 {
		tbl.add(b.NewRecordBatch(), len(r.joins))
	}
	return nil
}

// add indexes batch, whose first nKeys columns are the key, keeping the
// first row of each key.
func (t *refTable) add(batch arrow.RecordBatch, nKeys int) {
	bi := int32(len(t.batches))
	t.batches = append(t.batches, batch)
	var key []byte
	for i := range int(batch.NumRows()) {
		key = key[:0]
		null := false
		for c := range nKeys {
			col := batch.Column(c)
			null = null || col.IsNull(i)
			key = appendKey(key, col, i)
		}
		if null {
			continue // a null never equals anything
		}
		if _, dup := t.index[string(key)]; dup {
			t.duplicates++
			continue
		}
		t.index[string(key)] = refRow{bi, int32(i)}
	}
}

// goValueBytes estimates the bytes a value takes once in a batch and in
// the key.
func goValueBytes(v any) int64 {
	switch x := v.(type) {
	case string:
		return 2*int64(len(x)) + 8
	case []byte:
		return 2*int64(len(x)) + 8
	}
	return 16
}

// open starts reading the reference.
func (r *lookupRunner) open(ctx context.Context, rt dataflow.Runtime) (rowSource, error) {
	if r.src.query != "" {
		return openQueryRows(ctx, rt.Connections(), r.src, r.ref)
	}
	paths, err := dataflow.ResolveFiles(rt.Dir(), r.src.files)
	if err != nil {
		return nil, fmt.Errorf("settings.file: %w", err)
	}
	return &fileRows{src: r.src, schema: r.ref, paths: paths}, nil
}

// queryRows reads a query's result.
type queryRows struct {
	rows *sql.Rows
	cols []int // result column of each reference column
	dest []any
	n    int64
}

func openQueryRows(ctx context.Context, conns task.Connections, src *referenceSource, ref *arrow.Schema) (*queryRows, error) {
	db, err := openReference(ctx, conns, src.connection)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, src.query)
	if err != nil {
		return nil, fmt.Errorf("settings.query: %w", err)
	}
	names, err := rows.Columns()
	if err != nil {
		_ = rows.Close()
		return nil, fmt.Errorf("settings.query: %w", err)
	}
	q := &queryRows{rows: rows, dest: make([]any, len(names))}
	for _, f := range ref.Fields() {
		idx := -1
		for i, n := range names {
			if n == f.Name || (idx < 0 && strings.EqualFold(n, f.Name)) {
				idx = i
			}
		}
		if idx < 0 {
			_ = rows.Close()
			return nil, fmt.Errorf("settings.columns: the query returns no column %q%s (it returns: %s)", f.Name, didYouMean(f.Name, names), strings.Join(names, ", "))
		}
		q.cols = append(q.cols, idx)
	}
	return q, nil
}

func (q *queryRows) next() ([]any, error) {
	if !q.rows.Next() {
		if err := q.rows.Err(); err != nil {
			return nil, fmt.Errorf("settings.query: reading row %d: %w", q.n+1, err)
		}
		return nil, io.EOF
	}
	q.n++
	vals := make([]any, len(q.dest))
	ptrs := make([]any, len(q.dest))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := q.rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("settings.query: reading row %d: %w", q.n, err)
	}
	out := make([]any, len(q.cols))
	for n, c := range q.cols {
		out[n] = vals[c]
	}
	return out, nil
}

func (q *queryRows) where() string { return fmt.Sprintf("row %d of the query", q.n) }
func (q *queryRows) close() error  { return q.rows.Close() }
