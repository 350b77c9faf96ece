package sqlio

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/connection"
)

// arrowType is the column type a database type is read as: integers,
// floats, bools, dates, timestamps and binary as themselves, everything
// else (numeric and decimal included, to keep every digit) as a string.
func arrowType(kind connection.Kind, dbType string) arrow.DataType {
	t := strings.ToUpper(strings.TrimSpace(dbType))
	switch t {
	case "INT2", "SMALLINT", "TINYINT", "UNSIGNED TINYINT":
		return arrow.PrimitiveTypes.Int16
	case "INT4", "INT", "INTEGER", "MEDIUMINT", "UNSIGNED MEDIUMINT", "UNSIGNED SMALLINT", "SERIAL":
		return arrow.PrimitiveTypes.Int32
	case "INT8", "BIGINT", "UNSIGNED INT", "BIGSERIAL":
		return arrow.PrimitiveTypes.Int64
	case "FLOAT4", "REAL":
		return arrow.PrimitiveTypes.Float32
	case "FLOAT":
		if kind == connection.MySQL {
			return arrow.PrimitiveTypes.Float32 // MySQL's FLOAT is 4 bytes, SQL Server's 8
		}
		return arrow.PrimitiveTypes.Float64
	case "FLOAT8", "DOUBLE", "DOUBLE PRECISION":
		return arrow.PrimitiveTypes.Float64
	case "BOOL", "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "BIT":
		if kind == connection.SQLServer {
			return arrow.FixedWidthTypes.Boolean
		}
	case "DATE":
		return arrow.FixedWidthTypes.Date32
	case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME", "DATETIME2", "SMALLDATETIME", "DATETIMEOFFSET":
		return arrow.FixedWidthTypes.Timestamp_us
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "IMAGE":
		return arrow.BinaryTypes.Binary
	}
	return arrow.BinaryTypes.String
}
