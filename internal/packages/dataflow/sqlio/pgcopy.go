package sqlio

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// pgCopy writes with COPY FROM STDIN (binary), through pgx's CopyFrom on
// the pool's connection, its rows read from the batches' columns: each
// column has one value object, re-pointed at the current row, that pgx
// asks for the row's value through pgtype's valuer interfaces — no row is
// turned into Go values first, and nothing is allocated per row.
type pgCopy struct {
	conn  *sql.Conn
	table pgx.Identifier
	m     mapping
}

func newPGCopy(_ context.Context, conn *sql.Conn, parts []string, m mapping) (*pgCopy, error) {
	ok := false
	_ = conn.Raw(func(dc any) error {
		var c *stdlib.Conn
		if c, ok = dc.(*stdlib.Conn); ok {
			useFloatNumeric(c.Conn())
		}
		return nil
	})
	if !ok {
		return nil, errors.New("the postgres connection is not a pgx connection: COPY needs pgx's driver")
	}
	return &pgCopy{conn: conn, table: pgx.Identifier(parts), m: m}, nil
}

func (p *pgCopy) copy(ctx context.Context, src *batchRows) error {
	err := p.conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, p.table, p.m.names(), src)
		return err
	})
	if err != nil && src.valueErr != nil {
		return src.valueErr
	}
	return err
}

func (p *pgCopy) stream(ctx context.Context, in dataflow.Input) error {
	src := newBatchRows(p.m)
	src.recv = func() (arrow.RecordBatch, error) { return in.Recv(ctx) }
	err := p.copy(ctx, src)
	src.release()
	if src.recvErr != nil && !errors.Is(src.recvErr, io.EOF) {
		return src.recvErr
	}
	return err
}

func (p *pgCopy) write(ctx context.Context, batch arrow.RecordBatch, lo, hi int) error {
	src := newBatchRows(p.m)
	src.set(batch, lo, hi)
	return p.copy(ctx, src)
}

func (p *pgCopy) chunks(batch arrow.RecordBatch) [][2]int {
	return [][2]int{{0, int(batch.NumRows())}}
}

func (p *pgCopy) close() error { return nil }

// batchRows is a pgx.CopyFromSource over rows of Arrow batches: those of
// one batch (set), or every batch recv gives.
type batchRows struct {
	m       mapping
	batch   arrow.RecordBatch
	owned   bool // batch came from recv: release it
	row     int
	hi      int
	vals    []any
	cells   []pgCell
	recv    func() (arrow.RecordBatch, error)
	recvErr error
	// valueErr is the value pgx could not take from a cell (the COPY
	// fails with it, as the server's cancellation).
	valueErr error
}

func newBatchRows(m mapping) *batchRows {
	return &batchRows{m: m, vals: make([]any, len(m.in)), cells: make([]pgCell, len(m.in)), row: -1}
}

// set points the source at rows [lo, hi) of batch.
func (s *batchRows) set(batch arrow.RecordBatch, lo, hi int) {
	s.batch, s.row, s.hi = batch, lo-1, hi
	for j, c := range s.m.in {
		s.cells[j] = newPGCell(batch.Column(c), s.m.table[j], &s.valueErr)
	}
}

func (s *batchRows) release() {
	if s.owned && s.batch != nil {
		s.batch.Release()
	}
	s.batch = nil
}

// Next implements pgx.CopyFromSource.
func (s *batchRows) Next() bool {
	s.row++
	for s.batch == nil || s.row >= s.hi {
		if s.recv == nil {
			return false
		}
		s.release()
		b, err := s.recv()
		if err != nil {
			s.recvErr = err
			return false
		}
		s.owned = true
		s.set(b, 0, int(b.NumRows()))
		s.row = 0
	}
	return true
}

// Values implements pgx.CopyFromSource: the same slice every row, pgx
// encodes it before asking for the next.
func (s *batchRows) Values() ([]any, error) {
	for j, c := range s.cells {
		if c.arr.IsNull(s.row) {
			s.vals[j] = nil
			continue
		}
		c.v.at(s.row)
		s.vals[j] = c.v
	}
	return s.vals, nil
}

// Err implements pgx.CopyFromSource: a failed Recv (the flow stopping)
// ends the COPY with an error, so none of it is kept.
func (s *batchRows) Err() error {
	if s.recvErr != nil && !errors.Is(s.recvErr, io.EOF) {
		return s.recvErr
	}
	return nil
}

// pgCell is one column's value object.
type pgCell struct {
	arr arrow.Array
	v   pgValue
}

// pgValue is a column's value at the row at points it to.
type pgValue interface {
	at(row int)
}

// textTarget tells the PostgreSQL types a value goes into as text.
func textTarget(dbType string) bool {
	switch strings.ToUpper(dbType) {
	case "TEXT", "VARCHAR", "BPCHAR", "CHAR", "NAME", "JSON", "JSONB", "XML", "UUID":
		return true
	}
	return false
}

func newPGCell(arr arrow.Array, col tableColumn, fail *error) pgCell {
	dbType := col.dbType
	var v pgValue
	switch a := arr.(type) {
	case *array.String:
		v = &pgString{a: a, name: col.name, fail: fail}
	case *array.Int64:
		v = &pgInt[int64]{vals: a.Int64Values()}
	case *array.Int32:
		v = &pgInt[int32]{vals: a.Int32Values()}
	case *array.Int16:
		v = &pgInt[int16]{vals: a.Int16Values()}
	case *array.Float64:
		v = &pgFloat[float64]{vals: a.Float64Values()}
	case *array.Float32:
		v = &pgFloat[float32]{vals: a.Float32Values()}
	case *array.Boolean:
		v = &pgBool{a: a}
	case *array.Date32:
		v = &pgDate{vals: a.Date32Values()}
	case *array.Timestamp:
		v = &pgTimestamp{vals: a.TimestampValues(), unit: a.DataType().(*arrow.TimestampType).Unit}
	case *array.Binary:
		v = &pgBytes{a: a}
	}
	if v == nil || (textTarget(dbType) && arr.DataType().ID() != arrow.STRING) {
		v = &pgAny{a: arr}
	}
	return pgCell{arr: arr, v: v}
}

// pgString is a string column; going into a column of another type it
// is parsed, and a value that does not parse fails its row (valueError).
type pgString struct {
	a    *array.String
	name string
	row  int
	fail *error
}

func (v *pgString) at(row int) { v.row = row }
func (v *pgString) s() string  { return v.a.Value(v.row) }
func (v *pgString) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: v.s(), Valid: true}, nil
}
func (v *pgString) Value() (driver.Value, error) { return v.s(), nil }
func (v *pgString) BytesValue() ([]byte, error)  { return []byte(v.s()), nil }

func (v *pgString) bad(want string) error {
	err := &valueError{column: v.name, value: v.s(), want: want}
	*v.fail = err
	return err
}

func (v *pgString) Int64Value() (pgtype.Int8, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v.s()), 10, 64)
	if err != nil {
		return pgtype.Int8{}, v.bad("an integer")
	}
	return pgtype.Int8{Int64: n, Valid: true}, nil
}

func (v *pgString) Float64Value() (pgtype.Float8, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v.s()), 64)
	if err != nil {
		return pgtype.Float8{}, v.bad("a number")
	}
	return pgtype.Float8{Float64: f, Valid: true}, nil
}

func (v *pgString) NumericValue() (pgtype.Numeric, error) {
	var n pgtype.Numeric
	if err := n.Scan(strings.TrimSpace(v.s())); err != nil || !n.Valid {
		return pgtype.Numeric{}, v.bad("a number")
	}
	return n, nil
}

func (v *pgString) BoolValue() (pgtype.Bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v.s()))
	if err != nil {
		return pgtype.Bool{}, v.bad("true or false")
	}
	return pgtype.Bool{Bool: b, Valid: true}, nil
}

func (v *pgString) time() (time.Time, error) {
	var n nullTime
	if err := n.parse(strings.TrimSpace(v.s())); err != nil {
		return time.Time{}, v.bad("a date or time (2006-01-02, RFC 3339)")
	}
	return n.Time, nil
}

func (v *pgString) DateValue() (pgtype.Date, error) {
	t, err := v.time()
	return pgtype.Date{Time: t, Valid: err == nil}, err
}

func (v *pgString) TimestampValue() (pgtype.Timestamp, error) {
	t, err := v.time()
	return pgtype.Timestamp{Time: t, Valid: err == nil}, err
}

func (v *pgString) TimestamptzValue() (pgtype.Timestamptz, error) {
	t, err := v.time()
	return pgtype.Timestamptz{Time: t, Valid: err == nil}, err
}

// valueError is a value the database cannot take into its column, found
// before it was sent: its row fails (on_error applies).
type valueError struct {
	column, value, want string
}

func (e *valueError) Error() string {
	return fmt.Sprintf("column %q: %q is not %s", e.column, e.value, e.want)
}

type pgInt[T int64 | int32 | int16] struct {
	vals []T
	row  int
}

func (v *pgInt[T]) at(row int) { v.row = row }
func (v *pgInt[T]) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(v.vals[v.row]), Valid: true}, nil
}
func (v *pgInt[T]) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: float64(v.vals[v.row]), Valid: true}, nil
}
func (v *pgInt[T]) Value() (driver.Value, error) { return int64(v.vals[v.row]), nil }

type pgFloat[T float64 | float32] struct {
	vals []T
	row  int
}

func (v *pgFloat[T]) at(row int) { v.row = row }
func (v *pgFloat[T]) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: float64(v.vals[v.row]), Valid: true}, nil
}
func (v *pgFloat[T]) Value() (driver.Value, error) { return float64(v.vals[v.row]), nil }

type pgBool struct {
	a   *array.Boolean
	row int
}

func (v *pgBool) at(row int) { v.row = row }
func (v *pgBool) BoolValue() (pgtype.Bool, error) {
	return pgtype.Bool{Bool: v.a.Value(v.row), Valid: true}, nil
}
func (v *pgBool) Value() (driver.Value, error) { return v.a.Value(v.row), nil }

type pgDate struct {
	vals []arrow.Date32
	row  int
}

func (v *pgDate) at(row int)                      { v.row = row }
func (v *pgDate) t() time.Time                    { return v.vals[v.row].ToTime() }
func (v *pgDate) DateValue() (pgtype.Date, error) { return pgtype.Date{Time: v.t(), Valid: true}, nil }
func (v *pgDate) TimestampValue() (pgtype.Timestamp, error) {
	return pgtype.Timestamp{Time: v.t(), Valid: true}, nil
}
func (v *pgDate) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: v.t(), Valid: true}, nil
}
func (v *pgDate) Value() (driver.Value, error) { return v.t(), nil }

type pgTimestamp struct {
	vals []arrow.Timestamp
	unit arrow.TimeUnit
	row  int
}

func (v *pgTimestamp) at(row int)   { v.row = row }
func (v *pgTimestamp) t() time.Time { return v.vals[v.row].ToTime(v.unit) }
func (v *pgTimestamp) DateValue() (pgtype.Date, error) {
	return pgtype.Date{Time: v.t(), Valid: true}, nil
}
func (v *pgTimestamp) TimestampValue() (pgtype.Timestamp, error) {
	return pgtype.Timestamp{Time: v.t(), Valid: true}, nil
}
func (v *pgTimestamp) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: v.t(), Valid: true}, nil
}
func (v *pgTimestamp) Value() (driver.Value, error) { return v.t(), nil }

type pgBytes struct {
	a   *array.Binary
	row int
}

func (v *pgBytes) at(row int)                   { v.row = row }
func (v *pgBytes) BytesValue() ([]byte, error)  { return v.a.Value(v.row), nil }
func (v *pgBytes) Value() (driver.Value, error) { return v.a.Value(v.row), nil }

// pgAny is any other column, or a value going into a text column from
// another type: its text (allocated per value).
type pgAny struct {
	a   arrow.Array
	row int
}

func (v *pgAny) at(row int) { v.row = row }
func (v *pgAny) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: textOf(dataflow.Value(v.a, v.row)), Valid: true}, nil
}
func (v *pgAny) Value() (driver.Value, error) { return dataflow.Value(v.a, v.row), nil }

// textOf is a Go value's text as PostgreSQL reads it.
func textOf(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04:05.999999999Z07:00")
	case []byte:
		return string(t)
	}
	return fmt.Sprint(x)
}
