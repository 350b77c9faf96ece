package sqlio

import "github.com/scaleout/scaleout/internal/packages/dataflow"

// Register adds sql_source and sql_destination to r.
func Register(r *dataflow.Registry) {
	r.MustRegister("sql_source", Source{})
	r.MustRegister("sql_destination", Destination{})
}
