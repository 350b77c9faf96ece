package bootstrap_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
)

// describe turns the create request back into what DescribeTable shows.
func describe(t resources.Table) []ddbtypes.GlobalSecondaryIndexDescription {
	var out []ddbtypes.GlobalSecondaryIndexDescription
	for _, ix := range bootstrap.CreateTableInput(t).GlobalSecondaryIndexes {
		out = append(out, ddbtypes.GlobalSecondaryIndexDescription{IndexName: ix.IndexName, KeySchema: ix.KeySchema, Projection: ix.Projection})
	}
	return out
}

func TestCreateTableInputProjections(t *testing.T) {
	t.Parallel()
	set, err := resources.New("x")
	require.NoError(t, err)
	got := map[string]*ddbtypes.Projection{}
	for _, ix := range bootstrap.CreateTableInput(set.Executions).GlobalSecondaryIndexes {
		got[aws.ToString(ix.IndexName)] = ix.Projection
	}
	require.Equal(t, ddbtypes.ProjectionTypeKeysOnly, got[resources.ByDay].ProjectionType)
	require.Equal(t, ddbtypes.ProjectionTypeInclude, got[resources.ByStatus].ProjectionType)
	require.Equal(t, resources.StatusAttributes, got[resources.ByStatus].NonKeyAttributes)
}

func TestCheckIndexes(t *testing.T) {
	t.Parallel()
	set, err := resources.New("x")
	require.NoError(t, err)
	tbl := set.Executions
	require.NoError(t, bootstrap.CheckIndexes(tbl, describe(tbl)))

	// A table made by a version whose by_status was keyed on status and
	// projected everything.
	old := tbl
	old.Indexes = append([]resources.Index(nil), tbl.Indexes...)
	for i, ix := range old.Indexes {
		if ix.Name == resources.ByStatus {
			old.Indexes[i] = resources.Index{Name: ix.Name, PartitionKey: resources.Key{Name: "status", Type: resources.String},
				SortKey: ix.SortKey, Projection: resources.Projection{Type: resources.ProjectAll}}
		}
	}
	err = bootstrap.CheckIndexes(tbl, describe(old))
	require.ErrorIs(t, err, bootstrap.ErrIndexesDiffer)
	require.ErrorContains(t, err, "index by_status is keyed on [HASH status RANGE created_key], want [HASH status_key RANGE created_key]")
	require.ErrorContains(t, err, "index by_status projects ALL, want INCLUDE")
	require.ErrorContains(t, err, "delete the table")

	err = bootstrap.CheckIndexes(tbl, describe(old)[:1])
	require.ErrorContains(t, err, "index by_folder is missing")
}
