// Package connection holds a package's connections, as SSIS's connection
// managers do: a named Connection of a kind (postgres, mysql, sqlserver,
// s3) and its fields, checked by Validate with errors that say what to fix;
// DSN builds each database driver's data source name (pgx for PostgreSQL,
// go-sql-driver/mysql for MySQL and MariaDB, go-mssqldb for SQL Server),
// with passwords escaped for it.
//
// A Set is one execution's connections: it opens each database connection
// the first time a task asks for it, shares it (a database/sql pool with
// bounded size) with every task that asks after, and closes them all when
// the execution stops or ends.
//
// A password is a Secret: it prints, logs and marshals as "***", and a
// Connection's String and LogValue leave it out, so that it reaches no
// message, log or response. Errors from the servers become an *Error
// carrying the server's message, its code (SQLSTATE, MySQL error number,
// SQL Server error number) and where in the statement it was, when the
// driver says.
//
// The package knows nothing of package files or tasks: the engine's sql
// and s3 tasks and the package file's connections section build on it.
package connection
