package pkgfile

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// connectionField is one text field of a connection declaration.
type connectionField struct {
	name  string
	value string
	s3    bool // the field is an s3 connection's; else a database's
}

func connectionFields(c Connection) []connectionField {
	return []connectionField{
		{"host", c.Host, false}, {"port", string(c.Port), false}, {"database", c.Database, false},
		{"user", c.User, false}, {"password", c.Password, false},
		{"bucket", c.Bucket, true}, {"region", c.Region, true}, {"endpoint", c.Endpoint, true},
		{"path_style", string(c.PathStyle), true},
	}
}

func kindNames() []string {
	out := make([]string, len(connection.Kinds))
	for i, k := range connection.Kinds {
		out[i] = string(k)
	}
	return out
}

// connection checks one connection declaration: its name, its kind, the
// fields its kind needs and takes, the literal values that can be checked
// before the run, the interpolations (parameters and system values only:
// connections are resolved when the run starts), and its password, which
// must come from sensitive parameters.
func (v *validator) connection(at path, name string, c Connection) {
	if !taskName.MatchString(name) {
		v.ps.add(at, "name %q: use 1-128 letters, digits, '-' or '_'", clip(name))
	}
	for _, f := range connectionFields(c) {
		v.connectionText(at.key(f.name), f.value)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Options)) {
		v.connectionText(at.key("options").key(k), c.Options[k])
	}
	v.kindText(at.key("kind"), c.Kind)
	v.password(at.key("password"), c.Password)

	kind := connection.Kind(c.Kind)
	if c.Kind == "" || isTemplate(c.Kind) || !slices.Contains(connection.Kinds, kind) {
		return // the fields a kind needs are checked once the kind is known
	}
	for _, f := range connectionFields(c) {
		switch {
		case f.value == "":
		case f.s3 && kind != connection.S3:
			v.ps.add(at.key(f.name), "is for s3 connections, not %s (a %s connection takes host, port, database, user, password and options)", kind, kind)
		case !f.s3 && kind == connection.S3:
			v.ps.add(at.key(f.name), "is for database connections, not s3 (an s3 connection takes bucket, region, endpoint and path_style)")
		}
	}
	if kind == connection.S3 {
		if len(c.Options) > 0 {
			v.ps.add(at.key("options"), "is for database connections, not s3 (an s3 connection takes bucket, region, endpoint and path_style)")
		}
		if c.Bucket == "" {
			v.ps.add(at.key("bucket"), "missing: name the bucket")
		}
		if c.Region == "" {
			v.ps.add(at.key("region"), "missing: give the bucket's AWS region (S3-compatible services take any, such as us-east-1)")
		}
		if s := string(c.PathStyle); s != "" && !isTemplate(s) {
			if _, err := strconv.ParseBool(s); err != nil {
				v.ps.add(at.key("path_style"), "%q: want true or false", clip(s))
			}
		}
		return
	}
	if c.Host == "" {
		v.ps.add(at.key("host"), "missing: give the server's host name or address")
	}
	if c.User == "" {
		v.ps.add(at.key("user"), "missing: give the user to log in as")
	}
	if s := string(c.Port); s != "" && !isTemplate(s) {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 65535 {
			v.ps.add(at.key("port"), "%q: give a port from 1 to 65535, or none for %s's %d", clip(s), kind, kind.DefaultPort())
		}
	}
}

func isTemplate(s string) bool { return strings.Contains(s, "${") }

func (v *validator) kindText(at path, kind string) {
	switch {
	case kind == "":
		v.ps.add(at, "missing: give the connection's kind (known: %s)", strings.Join(kindNames(), ", "))
	case isTemplate(kind):
	case !slices.Contains(connection.Kinds, connection.Kind(kind)):
		v.ps.add(at, "unknown kind %q (known: %s)%s", clip(kind), strings.Join(kindNames(), ", "), didYouMean(kind, kindNames()))
	}
}

// connectionText checks the interpolations of one field: connections are
// resolved when the run starts, so they may read parameters and system
// values, not variables or tasks.
func (v *validator) connectionText(at path, s string) {
	if !isTemplate(s) {
		return
	}
	tpl, err := expression.ParseTemplate(s)
	if err != nil {
		v.ps.add(at, "%s", err)
		return
	}
	var params []expression.Ref
	for _, r := range tpl.Refs() {
		if r.Root == expression.Params {
			params = append(params, r)
			continue
		}
		v.ps.add(at, "%s.%s: a connection is resolved when the run starts, before any task: it may read params and system, not %s",
			r.Root, clip(r.Name), r.Root)
	}
	v.refs(at, params)
}

// password refuses a password written in the file: it must come from
// sensitive parameters, so that it is sealed at rest and masked in every
// message.
func (v *validator) password(at path, s string) {
	const how = "declare a sensitive parameter (parameters: {db_password: {type: string, sensitive: true}}) and write password: ${params.db_password}"
	if s == "" {
		return
	}
	if !isTemplate(s) {
		v.ps.add(at, "a literal password is refused: passwords must come from a sensitive parameter, which is sealed at rest and shown as *** everywhere; %s", how)
		return
	}
	tpl, err := expression.ParseTemplate(s)
	if err != nil {
		return // connectionText reported it
	}
	var params int
	for _, r := range tpl.Refs() {
		if r.Root != expression.Params {
			continue
		}
		params++
		if decl, ok := v.p.Parameters[r.Name]; ok && !decl.Sensitive {
			v.ps.add(at, "params.%s is not sensitive: passwords must come from a sensitive parameter; declare it with sensitive: true", clip(r.Name))
		}
	}
	if params == 0 {
		v.ps.add(at, "passwords must come from a sensitive parameter; %s", how)
	}
}

// connectionSettings are the settings in which a task whose type is a
// task.ConnectionUser names a connection: its own, and another one a copy
// or move goes to (the s3 task's to_connection).
var connectionSettings = []string{"connection", "to_connection"}

// usesConnection checks a task's literal connection setting (one of
// connectionSettings): the package defines it, and it is of a kind the
// task type works with.
func (v *validator) usesConnection(t Task, setting string, at path, kinds []connection.Kind) {
	name, ok := t.With[setting].(string)
	if !ok || name == "" || isTemplate(name) {
		return // missing or of the wrong type: the type's Check says so
	}
	v.connectionOfKind(t, at, name, kinds)
}

// namedConnections checks the connections a task's settings name in other
// places than `connection` (task.ConnectionNamer).
func (v *validator) namedConnections(t Task, with path, namer task.ConnectionNamer) {
	for _, ref := range namer.NamedConnections(t.With) {
		if ref.Name == "" || isTemplate(ref.Name) {
			continue
		}
		v.connectionOfKind(t, withPath(with, t.With, ref.Path), ref.Name, ref.Kinds)
	}
}

// connectionOfKind checks that the package defines the connection name,
// of one of kinds (any when empty).
func (v *validator) connectionOfKind(t Task, at path, name string, kinds []connection.Kind) {
	c, ok := v.connectionNamed(at, name)
	if !ok || isTemplate(c.Kind) || len(kinds) == 0 || slices.Contains(kinds, connection.Kind(c.Kind)) {
		return
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	v.ps.add(at, "connection %q is of kind %s; a %s task needs one of kind %s", clip(name), c.Kind, clip(t.Type), strings.Join(names, ", "))
}

// connectionNamed finds a connection of the package, or reports the name
// as unknown.
func (v *validator) connectionNamed(at path, name string) (Connection, bool) {
	c, ok := v.p.Connections[name]
	if ok {
		return c, true
	}
	names := slices.Sorted(maps.Keys(v.p.Connections))
	if len(names) == 0 {
		v.ps.add(at, "unknown connection %q: the package defines no connections; declare it under connections", clip(name))
		return Connection{}, false
	}
	v.ps.add(at, "unknown connection %q (known: %s)%s", clip(name), strings.Join(names, ", "), didYouMean(name, names))
	return Connection{}, false
}

// transaction checks a sequence's transaction: it names a database
// connection of the package.
func (v *validator) transaction(t Task, at path) {
	name := t.Transaction.Connection
	if name == "" {
		v.ps.add(at.key("connection"), "missing: name the database connection the sequence's sql tasks share a transaction on")
		return
	}
	c, ok := v.connectionNamed(at.key("connection"), name)
	if ok && !isTemplate(c.Kind) && !connection.Kind(c.Kind).IsDatabase() {
		v.ps.add(at.key("connection"), "connection %q is of kind %s: a transaction needs a database connection (postgres, mysql or sqlserver)", clip(name), c.Kind)
	}
}
