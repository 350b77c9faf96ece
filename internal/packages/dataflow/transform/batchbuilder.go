package transform

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchBuilder builds batches of one schema by copying rows out of other
// batches of the same schema, one row at a time.
type batchBuilder struct {
	b       *array.RecordBuilder
	appends []appendFunc
	rows    int
}

func newBatchBuilder(mem memory.Allocator, schema *arrow.Schema) *batchBuilder {
	bb := &batchBuilder{b: array.NewRecordBuilder(mem, schema)}
	for _, f := range schema.Fields() {
		bb.appends = append(bb.appends, appendFor(f.Type))
	}
	return bb
}

// add copies row i of batch (the builder's schema).
func (bb *batchBuilder) add(batch arrow.RecordBatch, i int) {
	for c, f := range bb.appends {
		f(bb.b.Field(c), batch.Column(c), i)
	}
	bb.rows++
}

// flush returns the rows added since the last flush as a batch (the
// caller owns it), or nil when there are none.
func (bb *batchBuilder) flush() arrow.RecordBatch {
	if bb.rows == 0 {
		return nil
	}
	bb.rows = 0
	return bb.b.NewRecordBatch()
}

// release frees the builder and rows not flushed.
func (bb *batchBuilder) release() { bb.b.Release() }
