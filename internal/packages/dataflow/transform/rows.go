package transform

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// This file holds the per-column helpers the holding transformations
// share: a value's bytes in a hash key (lookup, aggregate), the order of
// two values (sort), and copying one value from an array to a builder.

// keyKind is the family a column's type belongs to for joining and
// grouping: values of types in one family compare equal when their values
// do (an int32 3 equals an int64 3).
func keyKind(t arrow.DataType) string {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return "integer"
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return "float"
	case arrow.STRING, arrow.LARGE_STRING:
		return "string"
	case arrow.BINARY, arrow.LARGE_BINARY:
		return "binary"
	case arrow.BOOL:
		return "bool"
	case arrow.DATE32, arrow.DATE64:
		return "date"
	case arrow.TIMESTAMP:
		return "timestamp"
	}
	return t.String()
}

// appendKey appends the value of arr at i to key so that equal values (in
// one keyKind) give equal bytes and different values different bytes: a
// null is one 0 byte, a value a 1 byte then its bytes.
func appendKey(key []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		return append(key, 0)
	}
	key = append(key, 1)
	switch a := arr.(type) {
	case *array.Int64:
		return binary.BigEndian.AppendUint64(key, uint64(a.Value(i)))
	case *array.Int32:
		return binary.BigEndian.AppendUint64(key, uint64(int64(a.Value(i))))
	case *array.Int16:
		return binary.BigEndian.AppendUint64(key, uint64(int64(a.Value(i))))
	case *array.Int8:
		return binary.BigEndian.AppendUint64(key, uint64(int64(a.Value(i))))
	case *array.Uint8:
		return binary.BigEndian.AppendUint64(key, uint64(a.Value(i)))
	case *array.Uint16:
		return binary.BigEndian.AppendUint64(key, uint64(a.Value(i)))
	case *array.Uint32:
		return binary.BigEndian.AppendUint64(key, uint64(a.Value(i)))
	case *array.Uint64:
		return binary.BigEndian.AppendUint64(key, a.Value(i))
	case *array.Float64:
		return appendFloatKey(key, a.Value(i))
	case *array.Float32:
		return appendFloatKey(key, float64(a.Value(i)))
	case *array.String:
		return appendBytesKey(key, []byte(a.Value(i)))
	case *array.LargeString:
		return appendBytesKey(key, []byte(a.Value(i)))
	case *array.Binary:
		return appendBytesKey(key, a.Value(i))
	case *array.Boolean:
		if a.Value(i) {
			return append(key, 1)
		}
		return append(key, 0)
	case *array.Date32:
		return binary.BigEndian.AppendUint64(key, uint64(int64(a.Value(i))))
	case *array.Date64:
		return binary.BigEndian.AppendUint64(key, uint64(int64(a.Value(i))/86_400_000))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return binary.BigEndian.AppendUint64(key, uint64(a.Value(i).ToTime(unit).UnixNano()))
	}
	return appendBytesKey(key, []byte(arr.ValueStr(i)))
}

func appendFloatKey(key []byte, f float64) []byte {
	switch {
	case f == 0: // -0 and 0 are one value
		f = 0
	case math.IsNaN(f): // every NaN is one value
		f = math.NaN()
	}
	return binary.BigEndian.AppendUint64(key, math.Float64bits(f))
}

func appendBytesKey(key, b []byte) []byte {
	key = binary.AppendUvarint(key, uint64(len(b)))
	return append(key, b...)
}

// compareFunc orders the values at i of a and j of b, two arrays of one
// type, neither null there: negative, zero or positive.
type compareFunc func(a arrow.Array, i int, b arrow.Array, j int) int

// compareFor returns the compareFunc of a column type, and false for a
// type that cannot be ordered.
func compareFor(t arrow.DataType) (compareFunc, bool) {
	switch t.ID() {
	case arrow.INT64:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Int64).Value(i), b.(*array.Int64).Value(j))
		}, true
	case arrow.INT32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Int32).Value(i), b.(*array.Int32).Value(j))
		}, true
	case arrow.INT16:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Int16).Value(i), b.(*array.Int16).Value(j))
		}, true
	case arrow.INT8:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Int8).Value(i), b.(*array.Int8).Value(j))
		}, true
	case arrow.UINT64:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Uint64).Value(i), b.(*array.Uint64).Value(j))
		}, true
	case arrow.UINT32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Uint32).Value(i), b.(*array.Uint32).Value(j))
		}, true
	case arrow.FLOAT64:
		// cmp.Compare puts NaN before every number.
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Float64).Value(i), b.(*array.Float64).Value(j))
		}, true
	case arrow.FLOAT32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Float32).Value(i), b.(*array.Float32).Value(j))
		}, true
	case arrow.STRING:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.String).Value(i), b.(*array.String).Value(j))
		}, true
	case arrow.LARGE_STRING:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.LargeString).Value(i), b.(*array.LargeString).Value(j))
		}, true
	case arrow.BINARY:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return bytes.Compare(a.(*array.Binary).Value(i), b.(*array.Binary).Value(j))
		}, true
	case arrow.BOOL:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			x, y := a.(*array.Boolean).Value(i), b.(*array.Boolean).Value(j)
			switch {
			case x == y:
				return 0
			case y:
				return -1
			}
			return 1
		}, true
	case arrow.DATE32:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Date32).Value(i), b.(*array.Date32).Value(j))
		}, true
	case arrow.DATE64:
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Date64).Value(i), b.(*array.Date64).Value(j))
		}, true
	case arrow.TIMESTAMP:
		// One column has one unit, so the raw values order as the times.
		return func(a arrow.Array, i int, b arrow.Array, j int) int {
			return cmp.Compare(a.(*array.Timestamp).Value(i), b.(*array.Timestamp).Value(j))
		}, true
	}
	return nil, false
}

// appendFunc appends the value at i of arr (null or not) to b, a builder
// of arr's type.
type appendFunc func(b array.Builder, arr arrow.Array, i int)

// appendFor returns the appendFunc of a column type: typed for the types
// settings name, through Value and AppendValue for the others.
func appendFor(t arrow.DataType) appendFunc {
	switch t.ID() {
	case arrow.INT64:
		return typedAppend(func(b *array.Int64Builder, a *array.Int64, i int) { b.Append(a.Value(i)) })
	case arrow.INT32:
		return typedAppend(func(b *array.Int32Builder, a *array.Int32, i int) { b.Append(a.Value(i)) })
	case arrow.INT16:
		return typedAppend(func(b *array.Int16Builder, a *array.Int16, i int) { b.Append(a.Value(i)) })
	case arrow.FLOAT64:
		return typedAppend(func(b *array.Float64Builder, a *array.Float64, i int) { b.Append(a.Value(i)) })
	case arrow.FLOAT32:
		return typedAppend(func(b *array.Float32Builder, a *array.Float32, i int) { b.Append(a.Value(i)) })
	case arrow.STRING:
		return typedAppend(func(b *array.StringBuilder, a *array.String, i int) { b.Append(a.Value(i)) })
	case arrow.BINARY:
		return typedAppend(func(b *array.BinaryBuilder, a *array.Binary, i int) { b.Append(a.Value(i)) })
	case arrow.BOOL:
		return typedAppend(func(b *array.BooleanBuilder, a *array.Boolean, i int) { b.Append(a.Value(i)) })
	case arrow.DATE32:
		return typedAppend(func(b *array.Date32Builder, a *array.Date32, i int) { b.Append(a.Value(i)) })
	case arrow.TIMESTAMP:
		return typedAppend(func(b *array.TimestampBuilder, a *array.Timestamp, i int) { b.Append(a.Value(i)) })
	}
	return func(b array.Builder, arr arrow.Array, i int) {
		if err := dataflow.AppendValue(b, dataflow.Value(arr, i)); err != nil {
			b.AppendNull()
		}
	}
}

func typedAppend[B array.Builder, A arrow.Array](f func(b B, a A, i int)) appendFunc {
	return func(b array.Builder, arr arrow.Array, i int) {
		if arr.IsNull(i) {
			b.AppendNull()
			return
		}
		f(b.(B), arr.(A), i)
	}
}

// valueBytes estimates the bytes one value of arr at i takes in a
// builder or a Go map: its width, or its length for strings and binary,
// plus an offset.
func valueBytes(arr arrow.Array, i int) int64 {
	switch a := arr.(type) {
	case *array.String:
		return int64(a.ValueLen(i)) + 4
	case *array.LargeString:
		return int64(a.ValueLen(i)) + 8
	case *array.Binary:
		return int64(a.ValueLen(i)) + 4
	}
	if fw, ok := arr.DataType().(arrow.FixedWidthDataType); ok {
		if w := fw.BitWidth() / 8; w > 0 {
			return int64(w)
		}
		return 1
	}
	return 16
}
