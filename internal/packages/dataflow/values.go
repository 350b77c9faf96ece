package dataflow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// typeNames are the column type names settings use, and their types.
var typeNames = []struct {
	name string
	typ  arrow.DataType
}{
	{"string", arrow.BinaryTypes.String},
	{"int64", arrow.PrimitiveTypes.Int64},
	{"int32", arrow.PrimitiveTypes.Int32},
	{"int16", arrow.PrimitiveTypes.Int16},
	{"float64", arrow.PrimitiveTypes.Float64},
	{"float32", arrow.PrimitiveTypes.Float32},
	{"bool", arrow.FixedWidthTypes.Boolean},
	{"date", arrow.FixedWidthTypes.Date32},
	{"timestamp", arrow.FixedWidthTypes.Timestamp_us},
	{"binary", arrow.BinaryTypes.Binary},
}

var typeAliases = map[string]string{"int": "int64", "integer": "int64", "bigint": "int64", "float": "float64", "double": "float64", "boolean": "bool", "text": "string", "utf8": "string"}

// TypeNames lists the column type names settings accept (without aliases).
func TypeNames() []string {
	out := make([]string, len(typeNames))
	for i, t := range typeNames {
		out[i] = t.name
	}
	return out
}

// ParseType turns a column type name (TypeNames, or an alias: int, float,
// double, boolean, text) into its Arrow type.
func ParseType(name string) (arrow.DataType, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := typeAliases[n]; ok {
		n = a
	}
	for _, t := range typeNames {
		if t.name == n {
			return t.typ, nil
		}
	}
	return nil, fmt.Errorf("unknown column type %q (known: %s)%s", name, strings.Join(TypeNames(), ", "), didYouMean(name, TypeNames()))
}

// TypeName is the settings name of an Arrow type (its Arrow name when
// settings have none for it).
func TypeName(t arrow.DataType) string {
	for _, n := range typeNames {
		if arrow.TypeEqual(n.typ, t) {
			return n.name
		}
	}
	if t.ID() == arrow.TIMESTAMP {
		return "timestamp"
	}
	return t.String()
}

// Value is the value of arr at i as a Go value: int64 for integers,
// float64 for floats, string, bool, time.Time (UTC) for dates and
// timestamps, []byte for binary, nil for null; other types as their
// string form.
func Value(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Date64:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit)
	case *array.Binary:
		return a.Value(i)
	}
	return arr.ValueStr(i)
}

// AppendValue appends v to b, converting between numbers, strings, bools
// and times where the value allows; nil appends a null. The error says
// what could not be converted to what.
func AppendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(toString(v))
		return nil
	case *array.Int64Builder:
		n, err := toInt(v, math.MinInt64, math.MaxInt64)
		if err == nil {
			b.Append(n)
		}
		return err
	case *array.Int32Builder:
		n, err := toInt(v, math.MinInt32, math.MaxInt32)
		if err == nil {
			b.Append(int32(n))
		}
		return err
	case *array.Int16Builder:
		n, err := toInt(v, math.MinInt16, math.MaxInt16)
		if err == nil {
			b.Append(int16(n))
		}
		return err
	case *array.Float64Builder:
		f, err := toFloat(v)
		if err == nil {
			b.Append(f)
		}
		return err
	case *array.Float32Builder:
		f, err := toFloat(v)
		if err == nil {
			b.Append(float32(f))
		}
		return err
	case *array.BooleanBuilder:
		switch x := v.(type) {
		case bool:
			b.Append(x)
			return nil
		case string:
			p, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not a bool", x)
			}
			b.Append(p)
			return nil
		}
		return fmt.Errorf("%v (%T) is not a bool", v, v)
	case *array.Date32Builder:
		t, err := toTime(v)
		if err == nil {
			b.Append(arrow.Date32FromTime(t))
		}
		return err
	case *array.TimestampBuilder:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		ts, err := arrow.TimestampFromTime(t, b.Type().(*arrow.TimestampType).Unit)
		if err == nil {
			b.Append(ts)
		}
		return err
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			b.Append(x)
		default:
			b.AppendString(toString(v))
		}
		return nil
	}
	return b.AppendValueFromString(toString(v))
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return fmt.Sprint(v)
}

func toInt(v any, lo, hi int64) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case int32:
		n = int64(x)
	case int16:
		n = int64(x)
	case int8:
		n = int64(x)
	case uint:
		n = int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		n = int64(x)
	case uint32:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) || x < float64(lo) || x > float64(hi) {
			return 0, fmt.Errorf("%v is not an integer in range", x)
		}
		n = int64(x)
	case float32:
		return toInt(float64(x), lo, hi)
	case bool:
		if x {
			n = 1
		}
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", x)
		}
		n = p
	default:
		return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// timeLayouts are the layouts strings are read as dates and timestamps in.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		s := strings.TrimSpace(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date or time (write 2006-01-02 or RFC 3339)", x)
	}
	return time.Time{}, fmt.Errorf("%v (%T) is not a date or time", v, v)
}

// goSample is a Go value of the kind Value gives for t, for typing
// expressions.
func goSample(t arrow.DataType) any {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return ""
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT32, arrow.UINT64:
		return int64(0)
	case arrow.FLOAT32, arrow.FLOAT64:
		return float64(0)
	case arrow.BOOL:
		return false
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return time.Time{}
	case arrow.BINARY:
		return []byte(nil)
	}
	return ""
}
