package pkgfile

import (
	"maps"
	"slices"
)

// ValidateConnections checks a project's connections as Validate checks a
// package's: a well-formed name, a known kind, the fields the kind needs
// and no field of the other kinds, literal ports and path_style,
// interpolations of params and system only, and a password that comes from
// sensitive parameters. The parameters are the project's: a connection may
// read only those, since every package of the project gets it. It reports
// every problem at once in a *ValidationError, at connections.NAME...; nil
// when there is none.
//
// A package that gets a project's connection is validated with it as its
// own (a task naming it, a transaction on it), and with the package's own
// parameters, which win over the project's of the same name.
func ValidateConnections(conns map[string]Connection, params map[string]Parameter) error {
	ps := &problems{}
	v := &validator{
		p:      &Package{Parameters: params, Connections: conns},
		ps:     ps,
		params: slices.Sorted(maps.Keys(params)),
	}
	for _, name := range slices.Sorted(maps.Keys(conns)) {
		v.connection(path{}.key("connections").key(name), name, conns[name])
	}
	return ps.err("")
}
