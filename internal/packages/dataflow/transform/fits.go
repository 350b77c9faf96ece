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
// with the reason when not; the common cases are told without a builder.
func checkFits(v any, t arrow.DataType) error {
	id := t.ID()
	switch v.(type) {
	case nil:
		return nil
	case int64:
		if id == arrow.INT64 || id == arrow.FLOAT64 || id == arrow.STRING {
			return nil
		}
	case float64:
		if id == arrow.FLOAT64 || id == arrow.STRING {
			return nil
		}
	case string:
		if id == arrow.STRING {
			return nil
		}
	case bool:
		if id == arrow.BOOL || id == arrow.STRING {
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
