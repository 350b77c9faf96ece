// Package sqlio holds the data flow's database components: sql_source
// streams a query's rows into record batches, sql_destination writes its
// input into an existing table through each database's bulk path — COPY
// for PostgreSQL (pgx's CopyFrom, fed straight from the batches' columns),
// multi-row INSERTs for MySQL and MariaDB (statements kept under the
// server's max_allowed_packet), the bulk copy protocol for SQL Server
// (go-mssqldb's CopyIn).
//
// Both name a database connection of the package (`connection`) and use
// the run's pool for it (Runtime.Connections().DB), borrowing one
// connection for as long as they run and giving it back whatever the
// outcome.
package sqlio
