package pkgfile

import (
	_ "embed"
	"slices"
)

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of package files, for
// editors and other tools. It describes the same fields as Parse accepts;
// Validate checks more than a schema can (references, cycles, expressions,
// the task types' own settings).
func Schema() []byte { return slices.Clone(schema) }
