package sqlio_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

// TestFloatsIntoNumericKeepTheirDigits shows PostgreSQL's COPY of float
// columns into numeric ones stores each float's shortest decimal digits
// (unconstrained numeric), rounded to a numeric(p,s) column's scale.
func TestFloatsIntoNumericKeepTheirDigits(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	set, err := connection.NewSet([]connection.Connection{{Name: "db", Kind: connection.Postgres, Host: d.Host, Port: d.Port,
		Database: d.Name, User: d.User, Password: connection.Secret(d.Password), Options: map[string]string{"sslmode": "disable"}}},
		connection.Limits{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	db := d.Open(t)
	exec(t, db, "CREATE TABLE nums (id int, exact numeric, money numeric(24,2))")
	floats := []float64{0, 1, -1, 12.34, -12.345, 0.1, 0.0001, 1e-7, 10000, 1e20, -98765.4321, 123456789.125, 1.0 / 3}
	rows := ""
	for i, f := range floats {
		rows += "[" + strconv.Itoa(i) + ", " + strconv.FormatFloat(f, 'g', -1, 64) + ", " + strconv.FormatFloat(f, 'g', -1, 64) + "],"
	}
	dataflowtest.MustRun(t, `
components:
  - name: v
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: exact, type: float64}, {name: money, type: float64}]
      rows: [`+rows+`]
  - {name: write, type: sql_destination, input: v, settings: {connection: db, table: nums}}
`, use(), dataflowtest.WithEnv(dataflow.Env{Connections: set, Dir: t.TempDir()}))
	got, err := db.QueryContext(t.Context(), "SELECT id, exact::text, money::text, round(exact, 2)::text FROM nums ORDER BY id")
	require.NoError(t, err)
	defer func() { _ = got.Close() }()
	n := 0
	for got.Next() {
		var id int
		var exact, money, rounded string
		require.NoError(t, got.Scan(&id, &exact, &money, &rounded))
		assert.Equal(t, strconv.FormatFloat(floats[id], 'f', -1, 64), exact, "numeric of %v", floats[id])
		assert.Equal(t, rounded, money, "numeric(24,2) of %v", floats[id])
		n++
	}
	require.NoError(t, got.Err())
	assert.Equal(t, len(floats), n)
}
