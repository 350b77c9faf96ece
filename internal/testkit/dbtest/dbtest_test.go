package dbtest_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestServers(t *testing.T) {
	t.Parallel()
	if os.Getenv(dbtest.SkipEnv) == "1" {
		t.Skip(dbtest.SkipEnv + "=1: no database servers")
	}
	for _, tc := range []struct {
		name string
		get  func(testing.TB) dbtest.Database
	}{
		{"postgres", dbtest.Postgres},
		{"mariadb", dbtest.MariaDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Tests that ask at once share one server, each with a database
			// of its own.
			var (
				mu  sync.Mutex
				dbs []dbtest.Database
			)
			t.Run("group", func(t *testing.T) {
				for i := range 3 {
					t.Run(fmt.Sprint(i), func(t *testing.T) {
						t.Parallel()
						d := tc.get(t)
						mu.Lock()
						dbs = append(dbs, d)
						mu.Unlock()
						ctx := context.Background()
						db := d.Open(t)
						var version string
						require.NoError(t, db.QueryRowContext(ctx, "SELECT version()").Scan(&version))
						t.Logf("%s on %s, database %s: %s", tc.name, d.Addr(), d.Name, version)
						// A table of the same name in each: the databases are apart.
						_, err := db.ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY, name varchar(20))")
						require.NoError(t, err)
						_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'one')")
						require.NoError(t, err)
					})
				}
			})
			require.Len(t, dbs, 3)
			require.Equal(t, dbs[0].Port, dbs[1].Port)
			require.Equal(t, dbs[0].Port, dbs[2].Port)
			require.NotEqual(t, dbs[0].Name, dbs[1].Name)
			require.NotEqual(t, dbs[1].Name, dbs[2].Name)
		})
	}
}
