package dataflow

import (
	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// ConnectionUser is a Type whose components name a connection in their
// `connection` setting (sql_source, a lookup's query, a file on S3):
// package validation checks that the package defines the connection and
// that it is of one of ConnectionKinds.
type ConnectionUser interface {
	ConnectionKinds() []connection.Kind
}

// NamedConnections lists the connections a graph's components name in
// their settings' `connection`, for package validation.
func NamedConnections(reg *Registry, with map[string]any) []task.ConnectionRef {
	comps, _ := asList(with["components"])
	var out []task.ConnectionRef
	for i, c := range comps {
		m, _ := asObject(c)
		settings, _ := asObject(m["settings"])
		name, ok := settings["connection"].(string)
		if !ok || name == "" {
			continue
		}
		ref := task.ConnectionRef{Path: []any{"components", i, "settings", "connection"}, Name: name}
		if typ, _ := m["type"].(string); typ != "" {
			if t, err := reg.Lookup(typ); err == nil {
				if u, ok := t.(ConnectionUser); ok {
					ref.Kinds = u.ConnectionKinds()
				}
			}
		}
		out = append(out, ref)
	}
	return out
}
