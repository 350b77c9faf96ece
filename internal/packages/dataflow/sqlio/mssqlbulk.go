package sqlio

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// mssqlBulk writes with SQL Server's bulk copy protocol (INSERT BULK, as
// bcp and SSIS's fast load do), through go-mssqldb's CopyIn: a prepared
// statement whose every Exec with values adds a row, and whose Exec
// without values sends them. Constraints are checked and nulls kept, as
// an INSERT would.
type mssqlBulk struct {
	conn *sql.Conn
	stmt string
	m    mapping
	vals []any
}

// mssqlCopyStatement is the bulk copy statement of table's columns.
func mssqlCopyStatement(table string, cols []string) string {
	return mssql.CopyIn(table, mssql.BulkOptions{CheckConstraints: true, KeepNulls: true}, cols...)
}

func newMSSQLBulk(conn *sql.Conn, _ dialect, cfg destConfig, m mapping) (*mssqlBulk, error) {
	return &mssqlBulk{conn: conn, stmt: mssqlCopyStatement(strings.Join(cfg.parts, "."), m.names()), m: m,
		vals: make([]any, len(m.in))}, nil
}

// copy runs one bulk copy of the rows next gives (next returns false at
// the end, or an error).
func (b *mssqlBulk) copy(ctx context.Context, next func() (arrow.RecordBatch, int, bool, error)) error {
	st, err := b.conn.PrepareContext(ctx, b.stmt)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	for {
		batch, i, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		for j, c := range b.m.in {
			b.vals[j] = dataflow.Value(batch.Column(c), i)
		}
		if _, err := st.ExecContext(ctx, b.vals...); err != nil {
			return err
		}
	}
	if _, err := st.ExecContext(ctx); err != nil {
		return err
	}
	return nil
}

func (b *mssqlBulk) stream(ctx context.Context, in dataflow.Input) error {
	var batch arrow.RecordBatch
	row := 0
	defer func() {
		if batch != nil {
			batch.Release()
		}
	}()
	return b.copy(ctx, func() (arrow.RecordBatch, int, bool, error) {
		row++
		for batch == nil || row >= int(batch.NumRows()) {
			if batch != nil {
				batch.Release()
				batch = nil
			}
			next, err := in.Recv(ctx)
			if errors.Is(err, io.EOF) {
				return nil, 0, false, nil
			}
			if err != nil {
				return nil, 0, false, err
			}
			batch, row = next, 0
		}
		return batch, row, true, nil
	})
}

func (b *mssqlBulk) write(ctx context.Context, batch arrow.RecordBatch, lo, hi int) error {
	i := lo - 1
	return b.copy(ctx, func() (arrow.RecordBatch, int, bool, error) {
		i++
		return batch, i, i < hi, nil
	})
}

func (b *mssqlBulk) chunks(batch arrow.RecordBatch) [][2]int {
	return [][2]int{{0, int(batch.NumRows())}}
}

func (b *mssqlBulk) close() error { return nil }
