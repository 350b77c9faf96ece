package transform

import "github.com/scaleout/scaleout/internal/packages/dataflow"

// Register adds the transformations of this file set to r.
func Register(r *dataflow.Registry) {
	r.MustRegister("derived_column", DerivedColumn{})
	r.MustRegister("conditional_split", ConditionalSplit{})
	r.MustRegister("data_conversion", DataConversion{})
	r.MustRegister("multicast", Multicast{})
	r.MustRegister("union_all", UnionAll{})
	r.MustRegister("row_count", RowCount{})
}
