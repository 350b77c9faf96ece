// Package dbtest gives tests real database servers: PostgreSQL and MariaDB,
// installed from Debian's packages by tools/databases/install.sh and started
// here, on free loopback TCP ports, with their data directories and sockets
// in a temporary folder and settings for speed rather than durability (no
// fsync, no binary log).
//
// A test package runs its tests under Main (its TestMain); Postgres and
// MariaDB start their server the first time a test asks for it, share it
// between the package's tests, and Main stops it and removes its folder when
// the tests end. Each call returns a fresh database of its own, with the
// credentials of an administrator that may create roles and databases:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
//	func TestLoad(t *testing.T) {
//		db := dbtest.Postgres(t)
//		conn := db.Open(t) // *sql.DB on db.Name, closed when the test ends
//		...
//	}
//
// PostgreSQL refuses to run as root, so when the tests run as root both
// servers run as the user the Debian package created for them ("postgres",
// "mysql"; "nobody" when that user is missing). SCALEOUT_SKIP_DATABASES=1
// skips the tests that ask for a server; without it, a missing server is a
// failure that names the installer.
package dbtest
