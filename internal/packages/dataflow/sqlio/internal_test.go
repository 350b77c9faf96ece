package sqlio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

func TestMSSQLCopyStatement(t *testing.T) {
	t.Parallel()
	stmt := mssqlCopyStatement("staging.sales", []string{"id", "amount"})
	// go-mssqldb's bulk copy statement: a marker and its options as JSON.
	marker, body, ok := strings.Cut(stmt, " ")
	require.True(t, ok, stmt)
	assert.Equal(t, "INSERTBULK", marker)
	var parsed struct {
		TableName   string
		ColumnsName []string
		Options     mssql.BulkOptions
	}
	require.NoError(t, json.Unmarshal([]byte(body), &parsed), body)
	assert.Equal(t, "staging.sales", parsed.TableName)
	assert.Equal(t, []string{"id", "amount"}, parsed.ColumnsName)
	assert.True(t, parsed.Options.CheckConstraints, "constraints are checked, as an INSERT would")
	assert.True(t, parsed.Options.KeepNulls, "nulls stay null")

	b, err := newMSSQLBulk(nil, dialect{kind: connection.SQLServer}, destConfig{parts: []string{"dbo", "my table"}},
		mapping{table: []tableColumn{{name: "a"}, {name: "b c"}}, in: []int{1, 0}})
	require.NoError(t, err)
	assert.Contains(t, b.stmt, `"TableName":"dbo.my table"`)
	assert.Contains(t, b.stmt, `"ColumnsName":["a","b c"]`)
}

func TestRowErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		row  bool
		text string
	}{
		{mssql.Error{Number: 2627, Message: "Violation of PRIMARY KEY constraint 'PK_sales'."}, true, "Violation of PRIMARY KEY constraint 'PK_sales'. (error 2627)"},
		{fmt.Errorf("bulk: %w", mssql.Error{Number: 547, Message: "The INSERT statement conflicted with the CHECK constraint"}), true, "The INSERT statement conflicted with the CHECK constraint (error 547)"},
		{mssql.Error{Number: 515, Message: "Cannot insert the value NULL"}, true, "Cannot insert the value NULL (error 515)"},
		{mssql.Error{Number: 4060, Message: "Cannot open database"}, false, "Cannot open database (error 4060)"},
		{mssql.Error{Number: 208, Message: "Invalid object name 'nosuch'."}, false, "Invalid object name 'nosuch'. (error 208)"},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key", Detail: "Key (id)=(1) already exists."}, true, "duplicate key (SQLSTATE 23505): Key (id)=(1) already exists."},
		{&pgconn.PgError{Code: "22P02", Message: "invalid input syntax"}, true, "invalid input syntax (SQLSTATE 22P02)"},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, false, "relation does not exist (SQLSTATE 42P01)"},
		{&mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry"}, true, "Duplicate entry (error 1062)"},
		{&mysql.MySQLError{Number: 1146, SQLState: [5]byte{'4', '2', 'S', '0', '2'}, Message: "Table doesn't exist"}, false, "Table doesn't exist (error 1146)"},
		{errors.New("connection reset"), false, "connection reset"},
	} {
		assert.Equal(t, tc.row, isRowError(tc.err), "%v", tc.err)
		assert.Equal(t, tc.text, serverMessage(tc.err))
	}
}

func TestTypesOfEachServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind   connection.Kind
		dbType string
		want   arrow.DataType
	}{
		{connection.SQLServer, "FLOAT", arrow.PrimitiveTypes.Float64},
		{connection.MySQL, "FLOAT", arrow.PrimitiveTypes.Float32},
		{connection.SQLServer, "BIT", arrow.FixedWidthTypes.Boolean},
		{connection.MySQL, "BIT", arrow.BinaryTypes.String},
		{connection.SQLServer, "DATETIME2", arrow.FixedWidthTypes.Timestamp_us},
		{connection.SQLServer, "DATETIMEOFFSET", arrow.FixedWidthTypes.Timestamp_us},
		{connection.SQLServer, "NVARCHAR", arrow.BinaryTypes.String},
		{connection.SQLServer, "DECIMAL", arrow.BinaryTypes.String},
		{connection.SQLServer, "VARBINARY", arrow.BinaryTypes.Binary},
		{connection.Postgres, "int8", arrow.PrimitiveTypes.Int64},
		{connection.MySQL, "UNSIGNED BIGINT", arrow.BinaryTypes.String},
	} {
		assert.True(t, arrow.TypeEqual(tc.want, arrowType(tc.kind, tc.dbType)), "%s %s: %s", tc.kind, tc.dbType, arrowType(tc.kind, tc.dbType))
	}
}

func TestQuotingAndTables(t *testing.T) {
	t.Parallel()
	parts, err := splitTable(`staging."odd.name"`)
	require.NoError(t, err)
	assert.Equal(t, []string{"staging", "odd.name"}, parts)
	assert.Equal(t, `"staging"."odd.name"`, dialect{kind: connection.Postgres}.quoteTable(parts))
	assert.Equal(t, "`staging`.`odd.name`", dialect{kind: connection.MySQL}.quoteTable(parts))
	assert.Equal(t, "[staging].[odd.name]", dialect{kind: connection.SQLServer}.quoteTable(parts))
	assert.Equal(t, "[a]]b]", dialect{kind: connection.SQLServer}.quote("a]b"))
	for _, bad := range []string{"a..b", `"open`, "a.b.c.d", "."} {
		_, err := splitTable(bad)
		assert.Error(t, err, bad)
	}
}

func TestConnectionKinds(t *testing.T) {
	t.Parallel()
	var _ dataflow.ConnectionUser = Source{}
	var _ dataflow.ConnectionUser = Destination{}
	assert.Equal(t, []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer}, Destination{}.ConnectionKinds())
}
