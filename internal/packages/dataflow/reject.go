package dataflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// Reject applies the component's on_error to one failed row.
func (c *compRun) Reject(ctx context.Context, row []any, reason string) error {
	c.rejected.Add(1)
	switch c.n.spec.OnError {
	case OnErrorIgnore:
		return nil
	case OnErrorRedirect:
		return c.redirect(ctx, row, reason)
	}
	// The same rows fail the same way again: retrying cannot help.
	return fmt.Errorf("%s (on_error is fail: set on_error: ignore to drop such rows or redirect to send them to %s.error): %w", reason, c.n.spec.Name, task.ErrPermanent)
}

// RejectRow is Reject for row i of batch, whose schema is ErrorColumns.
func (c *compRun) RejectRow(ctx context.Context, batch arrow.RecordBatch, i int, reason string) error {
	if c.n.spec.OnError != OnErrorRedirect {
		return c.Reject(ctx, nil, reason)
	}
	row := make([]any, batch.NumCols())
	for j := range row {
		row[j] = Value(batch.Column(j), i)
	}
	return c.Reject(ctx, row, reason)
}

// redirect queues one row for the error output, sending a batch when
// BatchRows are queued.
func (c *compRun) redirect(ctx context.Context, row []any, reason string) error {
	schema := c.errOut.path.schema
	ncols := schema.NumFields() - 2
	if len(row) != ncols {
		return fmt.Errorf("rejected a row of %d values, its error columns are %d: %s", len(row), ncols, reason)
	}
	if c.errRows == nil {
		c.errRows = array.NewRecordBuilder(c.fr.alloc, schema)
	}
	for j, v := range row {
		if err := AppendValue(c.errRows.Field(j), v); err != nil {
			c.errRows.Field(j).AppendNull()
		}
	}
	c.errRows.Field(ncols).(*array.StringBuilder).Append(c.n.spec.Name)
	c.errRows.Field(ncols + 1).(*array.StringBuilder).Append(reason)
	if c.errRows.Field(0).Len() >= c.fr.flow.Graph.BatchRows {
		return c.flushErrors(ctx)
	}
	return nil
}

// flushErrors sends the queued rejected rows.
func (c *compRun) flushErrors(ctx context.Context) error {
	if c.errRows == nil || c.errRows.Field(0).Len() == 0 {
		return nil
	}
	b := c.errRows.NewRecordBatch()
	if err := c.errOut.Send(ctx, b); err != nil {
		return errors.Join(errors.New("sending rejected rows to the error output"), err)
	}
	return nil
}
