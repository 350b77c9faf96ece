package transform

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// aggState is one aggregation's state in one group.
type aggState interface {
	// add folds in the value at i of arr (nil for count(*)) and returns
	// the bytes the state grew by.
	add(arr arrow.Array, i int) (int64, error)
	// result is the aggregation's value, as dataflow.Value gives (nil for
	// null).
	result() any
}

func newAggState(spec aggSpec) aggState {
	switch spec.function {
	case "count":
		if spec.col < 0 {
			return &countStar{}
		}
		return &countValues{}
	case "count_distinct":
		return &countDistinct{seen: map[string]struct{}{}}
	case "sum":
		if spec.intSum {
			return &sumInt{}
		}
		return &sumFloat{}
	case "avg":
		return &avgState{}
	case "min":
		return &extreme{sign: -1}
	default:
		return &extreme{sign: 1}
	}
}

type countStar struct{ n int64 }

func (c *countStar) add(arrow.Array, int) (int64, error) { c.n++; return 0, nil }
func (c *countStar) result() any                         { return c.n }

type countValues struct{ n int64 }

func (c *countValues) add(arr arrow.Array, i int) (int64, error) {
	if !arr.IsNull(i) {
		c.n++
	}
	return 0, nil
}
func (c *countValues) result() any { return c.n }

type countDistinct struct {
	seen map[string]struct{}
	key  []byte
}

func (c *countDistinct) add(arr arrow.Array, i int) (int64, error) {
	if arr.IsNull(i) {
		return 0, nil
	}
	c.key = appendKey(c.key[:0], arr, i)
	if _, ok := c.seen[string(c.key)]; ok {
		return 0, nil
	}
	c.seen[string(c.key)] = struct{}{}
	return int64(len(c.key)) + 48, nil
}
func (c *countDistinct) result() any { return int64(len(c.seen)) }

type sumInt struct {
	sum   int64
	valid bool
}

func (s *sumInt) add(arr arrow.Array, i int) (int64, error) {
	if arr.IsNull(i) {
		return 0, nil
	}
	v := intAt(arr, i)
	r := s.sum + v
	if (v > 0 && r < s.sum) || (v < 0 && r > s.sum) {
		return 0, fmt.Errorf("the sum overflows int64 (%d + %d); convert the column to float64 first (data_conversion) to sum it as a float", s.sum, v)
	}
	s.sum, s.valid = r, true
	return 0, nil
}

func (s *sumInt) result() any {
	if !s.valid {
		return nil
	}
	return s.sum
}

type sumFloat struct {
	sum   float64
	valid bool
}

func (s *sumFloat) add(arr arrow.Array, i int) (int64, error) {
	if arr.IsNull(i) {
		return 0, nil
	}
	s.sum += floatAt(arr, i)
	s.valid = true
	return 0, nil
}

func (s *sumFloat) result() any {
	if !s.valid {
		return nil
	}
	return s.sum
}

type avgState struct {
	sum float64
	n   int64
}

func (a *avgState) add(arr arrow.Array, i int) (int64, error) {
	if arr.IsNull(i) {
		return 0, nil
	}
	a.sum += floatAt(arr, i)
	a.n++
	return 0, nil
}

func (a *avgState) result() any {
	if a.n == 0 {
		return nil
	}
	return a.sum / float64(a.n)
}

// extreme is min (sign -1) or max (sign 1): the value kept as Go (see
// dataflow.Value).
type extreme struct {
	sign int
	best any
}

func (e *extreme) add(arr arrow.Array, i int) (int64, error) {
	if arr.IsNull(i) {
		return 0, nil
	}
	v := dataflow.Value(arr, i)
	if e.best == nil || compareValues(v, e.best)*e.sign > 0 {
		var grew int64
		if s, ok := v.(string); ok {
			grew = int64(len(s))
			if old, ok := e.best.(string); ok {
				grew -= int64(len(old))
			}
			grew = max(grew, 0)
		}
		if b, ok := v.([]byte); ok {
			v = bytes.Clone(b) // the batch's bytes go away with it
			grew = int64(len(b))
		}
		e.best = v
		return grew, nil
	}
	return 0, nil
}

func (e *extreme) result() any { return e.best }

// compareValues orders two Go values of one kind, as dataflow.Value gives
// them for one column.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return cmp.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case y:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// intAt is the integer at i of an integer array.
func intAt(arr arrow.Array, i int) int64 {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(min(a.Value(i), math.MaxInt64))
	}
	return 0
}

// floatAt is the number at i of a number array, as float64.
func floatAt(arr arrow.Array, i int) float64 {
	switch a := arr.(type) {
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	}
	return float64(intAt(arr, i))
}
