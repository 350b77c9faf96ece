package fileio

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
)

// JSONLDestination is jsonl_destination: its input's rows into one JSON
// Lines file, one object a row, keys in column order.
//
//	settings:
//	  file: out/events.jsonl # or connection: files, key: out/events.jsonl
//	  overwrite: false
//	  columns: [id, at]      # optional: the input columns written, in order
//
// Nulls are written as null, dates as "2006-01-02", timestamps in RFC
// 3339 (UTC), binary values in base64, NaN and infinities as strings.
type JSONLDestination struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*JSONLDestination) Info() dataflow.Info {
	return destinationInfo("writes its input to a JSON Lines file in the scratch directory or S3")
}

// Plan implements dataflow.Type.
func (t *JSONLDestination) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	d := planDestination(pc, t.Clients)
	d.gz = true
	d.encode = func(w io.Writer, _ dataflow.Runtime) (encoder, error) {
		e := &jsonlEncoder{w: w}
		for _, f := range d.schema.Fields() {
			k, _ := json.Marshal(f.Name)
			e.keys = append(e.keys, append(k, ':'))
		}
		return e, nil
	}
	return d.finish(pc)
}

type jsonlEncoder struct {
	w    io.Writer
	keys [][]byte // `"name":` of each column
	buf  []byte
}

func (e *jsonlEncoder) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for i := range int(rec.NumRows()) {
		e.buf = append(e.buf[:0], '{')
		for j, col := range cols {
			if j > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, e.keys[j]...)
			var err error
			if e.buf, err = appendJSONValue(e.buf, col, i); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}', '\n')
		if _, err := e.w.Write(e.buf); err != nil {
			return err
		}
	}
	return nil
}

func (e *jsonlEncoder) close() error { return nil }

// appendJSONValue appends arr's value at i as JSON.
func appendJSONValue(b []byte, arr arrow.Array, i int) ([]byte, error) {
	if arr.IsNull(i) {
		return append(b, "null"...), nil
	}
	switch a := arr.(type) {
	case *array.String:
		return appendJSONString(b, a.Value(i)), nil
	case *array.LargeString:
		return appendJSONString(b, a.Value(i)), nil
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10), nil
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10), nil
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10), nil
	case *array.Float64:
		return appendJSONFloat(b, a.Value(i), 64), nil
	case *array.Float32:
		return appendJSONFloat(b, float64(a.Value(i)), 32), nil
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i)), nil
	case *array.Date32:
		return appendJSONString(b, a.Value(i).ToTime().Format(time.DateOnly)), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return appendJSONString(b, a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)), nil
	case *array.Binary:
		return appendJSONString(b, base64.StdEncoding.EncodeToString(a.Value(i))), nil
	}
	v, err := json.Marshal(arr.GetOneForMarshal(i))
	if err != nil {
		return b, err
	}
	return append(b, v...), nil
}

func appendJSONFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
