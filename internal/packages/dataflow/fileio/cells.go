package fileio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// cell is one parsed value, held until its whole row has parsed.
type cell struct {
	null bool
	i    int64
	f    float64
	b    bool
	t    time.Time
	s    string
}

// column parses text into one column's cells and appends them.
type column struct {
	name  string
	typ   arrow.DataType
	parse func(s string, c *cell) error
	put   func(b array.Builder, c *cell)
}

// timeLayouts are the layouts dates and timestamps are read in: RFC 3339,
// with a space or a T, with or without a zone, or a bare date.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func parseTime(s string) (time.Time, bool) { return parseTimeHint(s, new(int)) }

// parseTimeHint is parseTime trying first the layout that read the
// column's last value (*hint), as a column's values share one layout.
func parseTimeHint(s string, hint *int) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, ok := parseDate(s); ok {
		return t, true
	}
	if t, err := time.Parse(timeLayouts[*hint], s); err == nil {
		return t.UTC(), true
	}
	for i, l := range timeLayouts {
		if i == *hint {
			continue
		}
		if t, err := time.Parse(l, s); err == nil {
			*hint = i
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseDate reads a bare 2006-01-02 without time.Parse, the common case
// of date columns (trying layouts in turn costs an error each).
func parseDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	num := func(part string) (int, bool) {
		n := 0
		for i := range len(part) {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 2023-02-30
		return time.Time{}, false
	}
	return t, true
}

// newColumn is the parser of a column of type t, or an error for a type
// files cannot be read as.
func newColumn(name string, t arrow.DataType) (column, error) {
	c := column{name: name, typ: t}
	bad := func(s string) error { return fmt.Errorf("%q is not a %s", s, dataflow.TypeName(t)) }
	intParser := func(bits int) func(string, *cell) error {
		return func(s string, c *cell) error {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return fmt.Errorf("%q is out of the range of %s", s, dataflow.TypeName(t))
				}
				return bad(s)
			}
			c.i = n
			return nil
		}
	}
	floatParser := func(bits int) func(string, *cell) error {
		return func(s string, c *cell) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), bits)
			if err != nil {
				return bad(s)
			}
			c.f = f
			return nil
		}
	}
	switch t.ID() {
	case arrow.STRING:
		c.parse = func(s string, c *cell) error { c.s = s; return nil }
		c.put = func(b array.Builder, c *cell) { b.(*array.StringBuilder).Append(c.s) }
	case arrow.BINARY:
		c.parse = func(s string, c *cell) error { c.s = s; return nil }
		c.put = func(b array.Builder, c *cell) { b.(*array.BinaryBuilder).AppendString(c.s) }
	case arrow.INT64:
		c.parse = intParser(64)
		c.put = func(b array.Builder, c *cell) { b.(*array.Int64Builder).Append(c.i) }
	case arrow.INT32:
		c.parse = intParser(32)
		c.put = func(b array.Builder, c *cell) { b.(*array.Int32Builder).Append(int32(c.i)) }
	case arrow.INT16:
		c.parse = intParser(16)
		c.put = func(b array.Builder, c *cell) { b.(*array.Int16Builder).Append(int16(c.i)) }
	case arrow.FLOAT64:
		c.parse = floatParser(64)
		c.put = func(b array.Builder, c *cell) { b.(*array.Float64Builder).Append(c.f) }
	case arrow.FLOAT32:
		c.parse = floatParser(32)
		c.put = func(b array.Builder, c *cell) { b.(*array.Float32Builder).Append(float32(c.f)) }
	case arrow.BOOL:
		c.parse = func(s string, c *cell) error {
			v, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%q is not a bool (write true or false)", s)
			}
			c.b = v
			return nil
		}
		c.put = func(b array.Builder, c *cell) { b.(*array.BooleanBuilder).Append(c.b) }
	case arrow.DATE32:
		c.parse = func(s string, c *cell) error {
			v, ok := parseTime(s)
			if !ok {
				return fmt.Errorf("%q is not a date (write 2006-01-02)", s)
			}
			c.t = v
			return nil
		}
		c.put = func(b array.Builder, c *cell) { b.(*array.Date32Builder).Append(arrow.Date32FromTime(c.t)) }
	case arrow.TIMESTAMP:
		unit := t.(*arrow.TimestampType).Unit
		hint := new(int)
		c.parse = func(s string, c *cell) error {
			v, ok := parseTimeHint(s, hint)
			if !ok {
				return fmt.Errorf("%q is not a timestamp (write RFC 3339, 2006-01-02T15:04:05Z, or 2006-01-02 15:04:05)", s)
			}
			if _, err := arrow.TimestampFromTime(v, unit); err != nil {
				return fmt.Errorf("%q is out of the range of a timestamp", s)
			}
			c.t = v
			return nil
		}
		c.put = func(b array.Builder, c *cell) {
			ts, _ := arrow.TimestampFromTime(c.t, unit)
			b.(*array.TimestampBuilder).Append(ts)
		}
	default:
		return c, fmt.Errorf("column %q: type %s cannot be read from text (use one of %s)", name,
			dataflow.TypeName(t), strings.Join(dataflow.TypeNames(), ", "))
	}
	return c, nil
}

// batcher builds the batches of a text source: rows are parsed whole
// before any of their values is appended, so a bad row leaves no trace.
type batcher struct {
	schema *arrow.Schema
	cols   []column
	rb     *array.RecordBuilder
	cells  []cell
	rows   int
	max    int
}

func newBatcher(rt dataflow.Runtime, schema *arrow.Schema) (*batcher, error) {
	b := &batcher{schema: schema, max: max(rt.BatchRows(), 1), cells: make([]cell, schema.NumFields())}
	for _, f := range schema.Fields() {
		c, err := newColumn(f.Name, f.Type)
		if err != nil {
			return nil, err
		}
		b.cols = append(b.cols, c)
	}
	b.rb = array.NewRecordBuilder(rt.Allocator(), schema)
	b.rb.Reserve(b.max)
	return b, nil
}

// add parses one row: fields[i] is column i's text, null[i] whether it
// is null. The error names the column and the value.
func (b *batcher) add(fields []string, null []bool) error {
	for i := range b.cols {
		c := &b.cells[i]
		c.null = null[i]
		if c.null {
			continue
		}
		if err := b.cols[i].parse(fields[i], c); err != nil {
			return fmt.Errorf("column %q: %w", b.cols[i].name, err)
		}
	}
	for i := range b.cols {
		bld := b.rb.Field(i)
		if b.cells[i].null {
			bld.AppendNull()
			continue
		}
		b.cols[i].put(bld, &b.cells[i])
	}
	b.rows++
	return nil
}

// full reports whether a batch is ready.
func (b *batcher) full() bool { return b.rows >= b.max }

// send sends the rows added so far, if any.
func (b *batcher) send(ctx context.Context, out dataflow.Output) error {
	if b.rows == 0 {
		return nil
	}
	rec := b.rb.NewRecordBatch()
	b.rows = 0
	b.rb.Reserve(b.max)
	return out.Send(ctx, rec)
}

// release frees the builders (and any rows not sent).
func (b *batcher) release() { b.rb.Release() }

// stringSchema is dataflow.TextSchema, nil for an unknown schema: the
// columns of rejected rows, as text.
func stringSchema(s *arrow.Schema) *arrow.Schema {
	if s == nil {
		return nil
	}
	return dataflow.TextSchema(s)
}

// rejectRow is a row's texts as Reject takes them (nil for null or
// missing).
func rejectRow(fields []string, null []bool, n int) []any {
	row := make([]any, n)
	for i := range row {
		if i < len(fields) && (i >= len(null) || !null[i]) {
			row[i] = fields[i]
		}
	}
	return row
}

// clip shortens a value for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
