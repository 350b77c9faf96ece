package sqlio

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// dialect is what differs between the databases: quoting, placeholders.
type dialect struct {
	kind connection.Kind
}

// quote quotes one identifier.
func (d dialect) quote(name string) string {
	switch d.kind {
	case connection.MySQL:
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	case connection.SQLServer:
		return "[" + strings.ReplaceAll(name, "]", "]]") + "]"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteTable quotes a table name, schema-qualified or not ("s.t").
func (d dialect) quoteTable(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = d.quote(p)
	}
	return strings.Join(q, ".")
}

// splitTable splits "schema.table" (or "table") into its parts; a part
// in double quotes, backquotes or brackets may hold dots.
func splitTable(s string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	var closer rune
	quoted := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case closer != 0 && r == closer:
			closer = 0
		case closer != 0:
			cur.WriteRune(r)
		case r == '"' || r == '`':
			closer, quoted = r, true
		case r == '[':
			closer, quoted = ']', true
		case r == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if closer != 0 {
		return nil, fmt.Errorf("%q: a quote is not closed", s)
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		if strings.TrimSpace(p) == "" && !quoted {
			return nil, fmt.Errorf("%q: want a table name such as sales or staging.sales", s)
		}
	}
	if len(parts) > 3 {
		return nil, fmt.Errorf("%q: want table, schema.table or database.schema.table", s)
	}
	return parts, nil
}

// database is the named database connection: its kind and pool.
func database(ctx context.Context, conns task.Connections, name string) (dialect, *sql.DB, error) {
	if conns == nil {
		return dialect{}, nil, fmt.Errorf("settings.connection %q: the package defines no connections; add a database connection named %q", name, name)
	}
	c, err := conns.Connection(name)
	if err != nil {
		return dialect{}, nil, fmt.Errorf("settings.connection: %w", err)
	}
	if !c.Kind.IsDatabase() {
		return dialect{}, nil, fmt.Errorf("settings.connection %q is a %s connection: name a postgres, mysql or sqlserver connection", name, c.Kind)
	}
	db, err := conns.DB(ctx, name)
	if err != nil {
		return dialect{}, nil, fmt.Errorf("settings.connection %q: %w", name, err)
	}
	return dialect{kind: c.Kind}, db, nil
}
