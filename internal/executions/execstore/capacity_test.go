package execstore

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The write units an execution costs in each index, read from DynamoDB
// Local's ConsumedCapacity (which AWS bills the same way) through a metered
// client, on the store's own writes: a create writes each KEYS_ONLY index
// once, a claim writes none of them and only the small by_status entry,
// nothing is written while it runs, and an execution that ends leaves
// by_status.
func TestIndexWriteUnits(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	meter := awsmeter.New()
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	cfg.APIOptions = append(cfg.APIOptions, meter.APIOption)
	s := New(awsconfig.New(cfg).DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	def := make([]byte, 2500) // a package definition of a typical size
	for i := range def {
		def[i] = 'x'
	}
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"),
		Pool: "default", Status: execution.Pending, Definition: []byte(`{"name":"` + string(def) + `"}`),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	byIndex := func() map[string]float64 {
		out := map[string]float64{}
		for r, u := range meter.Take().Capacity {
			if r.Table == env.Set.Executions.Name && r.Index != "" {
				out[r.Index] += u.Write
			}
		}
		return out
	}
	require.NoError(t, s.Create(ctx, e))
	created := byIndex()
	t.Logf("create: indexes %v", created)
	for _, name := range []string{resources.ByPackage, resources.ByFolder, resources.ByDay} {
		require.Equal(t, 1.0, created[name], "a create writes %s once, with its keys only", name)
	}
	require.Equal(t, 1.0, created[resources.ByStatus], "a pending execution enters by_status, without its definition")

	_, sess, _, err := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).Register(ctx,
		registry.Registration{ID: testenv.Name("w"), Machine: "m", Pools: []string{"default"}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	claimed, err := s.Claim(ctx, e.ID, sess, time.Now())
	require.NoError(t, err)
	units := byIndex()
	t.Logf("claim: indexes %v", units)
	for _, name := range []string{resources.ByPackage, resources.ByFolder, resources.ByDay} {
		require.Zero(t, units[name], "a status change leaves %s alone", name)
	}
	require.Equal(t, 1.0, units[resources.ByStatus], "the entry is rewritten in place: its key does not name the status")

	_, err = s.Finish(ctx, execution.LeaseOf(claimed), execution.Result{Status: execution.Succeeded}, time.Now())
	require.NoError(t, err)
	units = byIndex()
	t.Logf("finish: indexes %v", units)
	require.Equal(t, map[string]float64{resources.ByStatus: 1.0}, units, "only the by_status entry is deleted")
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, got.Status)
}

func TestWithStatusKey(t *testing.T) {
	t.Parallel()
	id := "0190b6c2-0000-7000-8000-000000000000"
	shard := resources.Shard(id, resources.StatusShards)
	for _, tc := range []struct {
		expr string
		st   execution.Status
		want string
	}{
		{"SET a = :a", execution.Running, "SET a = :a, status_key = :status_key"},
		{"SET a = :a REMOVE b", execution.Pending, "SET a = :a, status_key = :status_key REMOVE b"},
		{"SET a = :a", execution.Failed, "SET a = :a REMOVE status_key"},
		{"SET a = :a REMOVE b, c", execution.Succeeded, "SET a = :a REMOVE b, c, status_key"},
	} {
		values := map[string]types.AttributeValue{}
		require.Equal(t, tc.want, withStatusKey(tc.expr, id, tc.st, values))
		if tc.st.Final() {
			require.Empty(t, values)
		} else {
			require.Equal(t, str(resources.ShardKey(resources.ActiveKey, shard)), values[":status_key"])
		}
	}
}
