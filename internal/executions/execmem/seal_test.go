package execmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// With a Sealer, a sensitive parameter's value is kept sealed, as the
// DynamoDB store keeps it: callers see ***, and only the key opens it.
func TestSensitiveParametersAreKeptSealed(t *testing.T) {
	t.Parallel()
	key := make([]byte, secrets.KeySize)
	copy(key, "execmem-seal-test-key-32-bytes!!")
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	s := execmem.New(nil)
	s.Sealer = sealer
	ctx := context.Background()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "pkg", Pool: "default", Status: execution.Pending,
		Definition: []byte(`{}`), CreatedAt: time.Now(),
		Parameters: map[string]any{"date": "2026-11-25", "password": "pa55"}, Sensitive: []string{"password"},
	}
	require.NoError(t, s.Create(ctx, e))
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.NotContains(t, got.Parameters, "password")
	require.Len(t, got.SealedParameters, 1)
	require.Equal(t, "***", got.Redacted().Parameters["password"])
	opened, err := execution.OpenParameters(ctx, got, sealer)
	require.NoError(t, err)
	require.Equal(t, "pa55", opened.Parameters["password"])
}
