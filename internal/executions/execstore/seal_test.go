package execstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// A sensitive parameter's value is stored sealed: the item in DynamoDB
// does not hold it, callers see ***, and only the key opens it.
func TestSensitiveParametersAreStoredSealed(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	key := make([]byte, secrets.KeySize)
	copy(key, "execstore-seal-test-key-32-bytes")
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	s.Sealer = sealer
	ctx := context.Background()
	const secret = "pa55-w0rd-do-not-store"
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"), Pool: "default", Status: execution.Pending,
		Definition: []byte(`{"name":"x","tasks":[]}`), CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		Parameters: map[string]any{"date": "2026-11-25", "password": secret, "pin": 1234},
		Sensitive:  []string{"password", "pin"},
	}
	require.NoError(t, s.Create(ctx, e))

	raw, err := env.Clients.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(env.Set.Executions.Name),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: e.ID}},
	})
	require.NoError(t, err)
	var plain map[string]any
	require.NoError(t, attributevalue.UnmarshalMap(raw.Item, &plain))
	dump := fmt.Sprint(plain)
	require.NotContains(t, dump, secret, "the stored item holds no plaintext")
	require.NotContains(t, dump, "1234")
	require.Contains(t, dump, "2026-11-25", "parameters that are not sensitive stay readable")

	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.NotContains(t, got.Parameters, "password")
	require.Len(t, got.SealedParameters, 2)
	require.Equal(t, "***", got.Redacted().Parameters["password"], "callers see ***")
	require.Equal(t, "***", got.Redacted().Parameters["pin"])

	opened, err := execution.OpenParameters(ctx, got, sealer)
	require.NoError(t, err)
	require.Equal(t, secret, opened.Parameters["password"])
	require.EqualValues(t, 1234, opened.Parameters["pin"])
	require.Equal(t, "2026-11-25", opened.Parameters["date"])

	_, err = execution.OpenParameters(ctx, got, nil)
	require.ErrorIs(t, err, execution.ErrNoSealer)

	other := make([]byte, secrets.KeySize)
	wrong, err := secrets.NewLocalSealer(other)
	require.NoError(t, err)
	_, err = execution.OpenParameters(ctx, got, wrong)
	require.ErrorIs(t, err, secrets.ErrOpen)
	require.NotContains(t, err.Error(), secret)

	// A sealed value moved to another execution does not open there.
	moved := got
	moved.ID = uuid.NewString()
	_, err = execution.OpenParameters(ctx, moved, sealer)
	require.ErrorIs(t, err, secrets.ErrOpen)
}
