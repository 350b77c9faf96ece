package sqlio

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
)

// mysqlRowErrors are the MySQL/MariaDB error numbers that blame a row: a
// duplicate key, a null or missing value, a foreign key, a check, a value
// too long, out of range or not of its column's type.
var mysqlRowErrors = map[uint16]bool{
	1062: true, 1048: true, 1364: true, 1451: true, 1452: true, 1216: true, 1217: true,
	3819: true, 4025: true, 1406: true, 1264: true, 1265: true, 1366: true, 1292: true, 1690: true,
}

// mssqlRowErrors are the SQL Server error numbers that blame a row: a
// unique key or index (2627, 2601), a foreign key or check (547), a null
// (515), a value too long (2628, 8152), a conversion (245, 8114, 241) or an
// overflow (220, 8115, 232).
var mssqlRowErrors = map[int32]bool{
	2627: true, 2601: true, 547: true, 515: true, 2628: true, 8152: true,
	245: true, 8114: true, 241: true, 220: true, 8115: true, 232: true,
}

// isRowError reports whether the database refused a statement because of
// the values of a row (a constraint, a value it cannot take), so that
// writing the rows one by one tells which row; other errors (the
// connection, a missing table, permissions) fail the component.
func isRowError(err error) bool {
	var ve *valueError
	if errors.As(err, &ve) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 22: data exception; class 23: integrity constraint violation.
		return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlRowErrors[me.Number] || string(me.SQLState[:2]) == "23" || string(me.SQLState[:2]) == "22"
	}
	var se mssql.Error
	if errors.As(err, &se) {
		return mssqlRowErrors[se.Number]
	}
	var sp *mssql.Error
	if errors.As(err, &sp) {
		return mssqlRowErrors[sp.Number]
	}
	return false
}

// serverMessage is the server's message of err, with PostgreSQL's detail
// (which names the key and value) when it gives one.
func serverMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
		if pe.Detail != "" {
			msg += ": " + pe.Detail
		}
		if pe.Where != "" {
			msg += " [" + pe.Where + "]"
		}
		return msg
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("%s (error %d)", me.Message, me.Number)
	}
	var se mssql.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (error %d)", se.Message, se.Number)
	}
	return err.Error()
}
