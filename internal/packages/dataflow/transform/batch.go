package transform

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// each receives every batch of in until its end, calling f with it; f
// owns the batch (releases or sends it).
func each(ctx context.Context, in dataflow.Input, f func(arrow.RecordBatch) error) error {
	for {
		b, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f(b); err != nil {
			return err
		}
	}
}

// filter is the rows of b whose keep is true, as a new batch (b itself,
// retained, when every row is kept; nil when none is).
func filter(ctx context.Context, mem memory.Allocator, b arrow.RecordBatch, keep []bool, kept int) (arrow.RecordBatch, error) {
	switch kept {
	case 0:
		return nil, nil
	case int(b.NumRows()):
		b.Retain()
		return b, nil
	}
	mb := array.NewBooleanBuilder(mem)
	defer mb.Release()
	mb.AppendValues(keep, nil)
	mask := mb.NewBooleanArray()
	defer mask.Release()
	return compute.FilterRecordBatch(exec.WithAllocator(ctx, mem), b, mask, compute.DefaultFilterOptions())
}

// release releases the arrays not nil.
func release(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}
