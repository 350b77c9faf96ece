package sqlio

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopyRowsAllocateNothingPerRow shows the COPY source hands pgx the
// batch's values without allocating per row, as pgx encodes them.
func TestCopyRowsAllocateNothingPerRow(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "at", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	const rows = 1000
	for i := range rows {
		rb.Field(0).(*array.Int64Builder).Append(int64(i) * 1_000_000)
		rb.Field(1).(*array.StringBuilder).Append("a name of some length")
		rb.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		if i%10 == 0 {
			rb.Field(3).AppendNull()
		} else {
			rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i) * 1e6))
		}
	}
	batch := rb.NewRecordBatch()
	defer batch.Release()
	m := mapping{table: []tableColumn{{"id", "INT8"}, {"name", "TEXT"}, {"amount", "FLOAT8"}, {"at", "TIMESTAMPTZ"}}, in: []int{0, 1, 2, 3}}
	tm := pgtype.NewMap()
	oids := []uint32{pgtype.Int8OID, pgtype.TextOID, pgtype.Float8OID, pgtype.TimestamptzOID}
	buf := make([]byte, 0, 1<<16)
	src := newBatchRows(m)
	encodeAll := func() {
		src.set(batch, 0, rows)
		buf = buf[:0]
		for src.Next() {
			vals, err := src.Values()
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range vals {
				if v == nil {
					continue
				}
				if buf, err = tm.Encode(oids[j], pgtype.BinaryFormatCode, v, buf); err != nil {
					t.Fatal(err)
				}
				if len(buf) > 1<<15 {
					buf = buf[:0]
				}
			}
		}
	}
	encodeAll() // plans are made and kept on the first rows
	allocs := testing.AllocsPerRun(5, encodeAll)
	t.Logf("%v allocations for %d rows", allocs, rows)
	assert.Less(t, allocs, float64(rows)/10, "allocations per batch of %d rows", rows)

	src.set(batch, 0, rows)
	require.True(t, src.Next())
	vals, err := src.Values()
	require.NoError(t, err)
	assert.Nil(t, vals[3], "a null goes as nil")
}
