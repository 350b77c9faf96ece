package transform

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// findColumn is the index of the column name in schema; when there is
// none it records a problem with key of s (naming the columns there are,
// with a did-you-mean) and returns -1.
func findColumn(s *dataflow.Settings, key string, schema *arrow.Schema, name, where string) int {
	if idx := schema.FieldIndices(name); len(idx) > 0 {
		return idx[0]
	}
	names := columnNames(schema)
	msg := fmt.Sprintf("%s has no column %q", where, name)
	if near := closest(name, names); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	s.Errorf(key, "%s (columns: %s)", msg, strings.Join(names, ", "))
	return -1
}

func columnNames(schema *arrow.Schema) []string {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return names
}

// didYouMean is `; did you mean "x"?` when one of known is close to s.
func didYouMean(s string, known []string) string { return suggest(s, known) }
