package messages_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/messages/messagestest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// TestStoreConformance runs the messages suite against the store on
// DynamoDB Local, in the shared catalog table (the cases use execution ids
// of their own).
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	store := messages.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	messagestest.Run(t, func(*testing.T) messages.Log { return store })
}
