package sqlio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// maxPlaceholders is the most parameters one MySQL statement may bind.
const maxPlaceholders = 65535

// mysqlInsert writes with multi-row INSERTs: as many rows per statement
// as insert_rows, the placeholder limit and half the server's
// max_allowed_packet allow (the rest is headroom for the statement's
// framing). The statement for a full chunk is prepared once.
type mysqlInsert struct {
	conn     *sql.Conn
	prefix   string // INSERT INTO t (a, b) VALUES
	row      string // (?, ?)
	m        mapping
	maxRows  int
	maxBytes int
	full     *sql.Stmt
	args     []any
}

func newMySQLInsert(ctx context.Context, conn *sql.Conn, d dialect, cfg destConfig, m mapping) (*mysqlInsert, error) {
	var packet int64
	if err := conn.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return nil, fmt.Errorf("reading max_allowed_packet: %w", err)
	}
	cols := make([]string, len(m.table))
	for i, c := range m.table {
		cols[i] = d.quote(c.name)
	}
	return &mysqlInsert{
		conn:     conn,
		prefix:   "INSERT INTO " + d.quoteTable(cfg.parts) + " (" + strings.Join(cols, ", ") + ") VALUES ",
		row:      "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")",
		m:        m,
		maxRows:  max(1, min(cfg.insertRows, maxPlaceholders/len(cols))),
		maxBytes: int(max(packet/2, 64<<10)),
	}, nil
}

func (w *mysqlInsert) statement(rows int) string {
	var b strings.Builder
	b.Grow(len(w.prefix) + rows*(len(w.row)+2))
	b.WriteString(w.prefix)
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w.row)
	}
	return b.String()
}

// rowBytes estimates the bytes row i takes in a statement.
func (w *mysqlInsert) rowBytes(batch arrow.RecordBatch, i int) int {
	n := 0
	for _, c := range w.m.in {
		switch a := batch.Column(c).(type) {
		case *array.String:
			n += len(a.Value(i)) + 9
		case *array.Binary:
			n += len(a.Value(i)) + 9
		default:
			n += 16
		}
	}
	return n
}

func (w *mysqlInsert) chunks(batch arrow.RecordBatch) [][2]int {
	var out [][2]int
	lo, bytes := 0, 0
	n := int(batch.NumRows())
	for i := range n {
		rb := w.rowBytes(batch, i)
		if i > lo && (i-lo >= w.maxRows || bytes+rb > w.maxBytes) {
			out = append(out, [2]int{lo, i})
			lo, bytes = i, 0
		}
		bytes += rb
	}
	if lo < n {
		out = append(out, [2]int{lo, n})
	}
	return out
}

func (w *mysqlInsert) write(ctx context.Context, batch arrow.RecordBatch, lo, hi int) error {
	w.args = w.args[:0]
	for i := lo; i < hi; i++ {
		for _, c := range w.m.in {
			w.args = append(w.args, dataflow.Value(batch.Column(c), i))
		}
	}
	if hi-lo == w.maxRows {
		if w.full == nil {
			st, err := w.conn.PrepareContext(ctx, w.statement(w.maxRows))
			if err != nil {
				return err
			}
			w.full = st
		}
		_, err := w.full.ExecContext(ctx, w.args...)
		return err
	}
	_, err := w.conn.ExecContext(ctx, w.statement(hi-lo), w.args...)
	return err
}

func (w *mysqlInsert) stream(ctx context.Context, in dataflow.Input) error {
	for {
		batch, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, c := range w.chunks(batch) {
			if err = w.write(ctx, batch, c[0], c[1]); err != nil {
				break
			}
		}
		batch.Release()
		if err != nil {
			return err
		}
	}
}

func (w *mysqlInsert) close() error {
	if w.full != nil {
		return w.full.Close()
	}
	return nil
}
