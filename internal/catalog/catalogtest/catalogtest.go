package catalogtest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
)

// NewCatalog returns a catalog made with c on the storage under test: the
// suite sets every field of c but the storage's (Storage, or DB and
// Table), which NewCatalog fills in before calling catalog.New.
type NewCatalog func(t *testing.T, c catalog.Config) *catalog.Catalog

// Run runs every case of the suite, each in parallel, as subtests of t.
func Run(t *testing.T, newCatalog NewCatalog) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(*testing.T, NewCatalog)
	}{
		{"Folders", testFolders},
		{"FolderDeleteRefusedWhileNotEmpty", testFolderDeleteRefusedWhileNotEmpty},
		{"FolderDeleteRace", testFolderDeleteRace},
		{"DeployDescribeRestore", testDeployDescribeRestore},
		{"Retention", testRetention},
		{"ConcurrentDeploys", testConcurrentDeploys},
		{"DeployInvalid", testDeployInvalid},
		{"Environments", testEnvironments},
		{"Resolve", testResolve},
		{"SetBindingsChecks", testSetBindingsChecks},
		{"PatchBindingsRace", testPatchBindingsRace},
		{"Files", testFiles},
		{"ProjectConnections", testProjectConnections},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newCatalog)
		})
	}
}

// setup returns a catalog keeping keep versions (0: the default) and a
// fresh folder in it.
func setup(t *testing.T, newCatalog NewCatalog, keep int) (*catalog.Catalog, string) {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	s := newCatalog(t, catalog.Config{Types: tasktypes.NewRegistry(), Sealer: sealer, Keep: keep})
	folder := uniqueName("folder")
	_, err = s.CreateFolder(context.Background(), folder, "test folder")
	require.NoError(t, err)
	return s, folder
}

// uniqueName is a name no other case (or run) uses.
func uniqueName(prefix string) string {
	return prefix + "-" + uuid.NewString()[:8]
}
