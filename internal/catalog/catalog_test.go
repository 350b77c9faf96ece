package catalog_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/catalog/catalogtest"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newCatalog is a catalog on the DynamoDB catalog table of the stand-ins,
// made as the wiring makes it (Config.DB and Config.Table).
func newCatalog(t *testing.T, c catalog.Config) *catalog.Catalog {
	t.Helper()
	env := testenv.AWS(t)
	c.DB, c.Table = env.Clients.DynamoDB, env.Set.Catalog.Name
	cat, err := catalog.New(c)
	require.NoError(t, err)
	return cat
}

// The DynamoDB adapter passes the conformance suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, newCatalog)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := catalog.New(catalog.Config{Keep: 200})
	require.Error(t, err)
	for _, want := range []string{"no DynamoDB client", "no table name", "no task type registry", "no sealer", "keep 200 versions"} {
		require.ErrorContains(t, err, want)
	}
}

// The environment's item holds a sensitive value sealed, never in plain
// text, in the layout the package documentation gives.
func TestSealedAtRest(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	ctx := context.Background()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	s := newCatalog(t, catalog.Config{Types: tasktypes.NewRegistry(), Sealer: sealer})
	folder := testenv.Name("folder")
	_, err = s.CreateFolder(ctx, folder, "")
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"name":  {Type: pkgfile.String, Value: "Ada"},
		"token": {Type: pkgfile.String, Value: "s3cret-plaintext", Sensitive: true, Description: "API token"},
	}})
	require.NoError(t, err)

	raw, err := env.Clients.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(env.Set.Catalog.Name),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "FOLDER#" + folder},
			"sk": &types.AttributeValueMemberS{Value: "ENV#prod"},
		},
	})
	require.NoError(t, err)
	require.NotContains(t, fmt.Sprintf("%#v", raw.Item), "s3cret-plaintext")
	tok := raw.Item["variables"].(*types.AttributeValueMemberM).Value["token"].(*types.AttributeValueMemberM).Value
	require.True(t, strings.HasPrefix(tok["sealed"].(*types.AttributeValueMemberS).Value, "v1:local:"))
	require.NotContains(t, tok, "value")
}
