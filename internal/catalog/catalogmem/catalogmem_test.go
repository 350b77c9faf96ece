package catalogmem_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/catalog/catalogmem"
	"github.com/scaleout/scaleout/internal/catalog/catalogtest"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
)

func newCatalog(t *testing.T, c catalog.Config) *catalog.Catalog {
	t.Helper()
	c.Storage = catalogmem.New()
	cat, err := catalog.New(c)
	require.NoError(t, err)
	return cat
}

func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, newCatalog)
}

// A sensitive value is kept sealed, never in plain text.
func TestSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	st := catalogmem.New()
	cat, err := catalog.New(catalog.Config{Storage: st, Types: tasktypes.NewRegistry(), Sealer: sealer})
	require.NoError(t, err)
	_, err = cat.CreateFolder(ctx, "f", "")
	require.NoError(t, err)
	_, err = cat.CreateEnvironment(ctx, "f", "prod", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"token": {Type: pkgfile.String, Value: "s3cret-plaintext", Sensitive: true},
	}})
	require.NoError(t, err)
	e, err := st.GetEnvironment(ctx, "f", "prod")
	require.NoError(t, err)
	tok := e.Variables["token"]
	require.Empty(t, tok.Value)
	require.True(t, strings.HasPrefix(tok.Sealed, "v1:local:"))
	require.NotContains(t, tok.Sealed, "s3cret")
}
