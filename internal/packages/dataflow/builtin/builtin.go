// Package builtin gathers the component types every dataflow task knows:
// each component package's Register is called here.
package builtin

import (
	"sync"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/fileio"
	"github.com/scaleout/scaleout/internal/packages/dataflow/sqlio"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
)

// Register adds every built-in component type to r.
func Register(r *dataflow.Registry) {
	transform.Register(r)
	transform.RegisterBlocking(r)
	fileio.Register(r)
	sqlio.Register(r)
}

var (
	once sync.Once
	reg  *dataflow.Registry
)

// Registry is the registry of the built-in component types, made once.
func Registry() *dataflow.Registry {
	once.Do(func() {
		reg = dataflow.NewRegistry()
		Register(reg)
	})
	return reg
}
