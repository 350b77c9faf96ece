package sqlio

import (
	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Register adds sql_source and sql_destination to r.
func Register(r *dataflow.Registry) {
	r.MustRegister("sql_source", Source{})
	r.MustRegister("sql_destination", Destination{})
}

// dbKinds are the connections sql components name: database ones.
var dbKinds = []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer}

// ConnectionKinds implements dataflow.ConnectionUser: package validation
// checks that `connection` names a database connection of the package.
func (Source) ConnectionKinds() []connection.Kind { return dbKinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (Destination) ConnectionKinds() []connection.Kind { return dbKinds }
