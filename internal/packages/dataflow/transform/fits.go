package transform

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	suggestpkg "github.com/scaleout/scaleout/internal/suggest"
)

var closest = suggestpkg.Closest

// checkFits reports whether v can be appended to a column of type t,
// with the reason when not.
func checkFits(v any, t arrow.DataType) error {
	if v == nil {
		return nil
	}
	switch t.ID() {
	case arrow.STRING:
		return nil
	case arrow.INT64, arrow.FLOAT64:
		switch v.(type) {
		case int64, float64:
			if t.ID() == arrow.FLOAT64 {
				return nil
			}
			if _, isInt := v.(int64); isInt {
				return nil
			}
		case bool:
			if t.ID() == arrow.FLOAT64 {
				break
			}
			return nil
		}
	case arrow.BOOL:
		if _, ok := v.(bool); ok {
			return nil
		}
	}
	b := array.NewBuilder(memory.DefaultAllocator, t)
	defer b.Release()
	return dataflow.AppendValue(b, v)
}

// suggest is `; did you mean "x"?` when one of known is close to s.
func suggest(s string, known []string) string {
	if best := closest(s, known); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}
