package transform

import "github.com/scaleout/scaleout/internal/packages/dataflow"

// RegisterBlocking adds the transformations that hold rows to r: lookup
// (a cached reference), aggregate (one entry per group) and sort (every
// row, spilling past memory_limit).
func RegisterBlocking(r *dataflow.Registry) {
	r.MustRegister("lookup", Lookup{})
	r.MustRegister("aggregate", Aggregate{})
	r.MustRegister("sort", Sort{})
}
